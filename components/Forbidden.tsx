export function Forbidden({ what, roles }: { what: string; roles: readonly string[] }) {
  return (
    <div className="card empty" role="alert">
      <h2>Not available to you</h2>
      <p>
        {what} is for {roles.join(", ")}. Ask an administrator if you need access.
      </p>
    </div>
  );
}
