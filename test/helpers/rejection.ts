/** The rejection of a statement, as text (Prisma wraps the database's message); fails when nothing refused it. */
export async function rejection(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return String((error as Error).message ?? error);
  }
  throw new Error("the statement was not refused");
}
