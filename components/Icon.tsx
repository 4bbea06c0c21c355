/**
 * Small inline SVG icons. Glyphs and emoji depend on the fonts of the machine showing the page (where
 * no emoji font is installed, "✅" is an empty box); these draw the same everywhere. Decorative by
 * default (aria-hidden); pass `label` when the icon alone carries the meaning.
 */
const PATHS = {
  check: "M3.5 8.5l3 3 6-7",
  cross: "M4 4l8 8M12 4l-8 8",
  "box-checked": "M3 2.5h10a.5.5 0 0 1 .5.5v10a.5.5 0 0 1-.5.5H3a.5.5 0 0 1-.5-.5V3a.5.5 0 0 1 .5-.5zM5 8l2 2 4-4.5",
  box: "M3 2.5h10a.5.5 0 0 1 .5.5v10a.5.5 0 0 1-.5.5H3a.5.5 0 0 1-.5-.5V3a.5.5 0 0 1 .5-.5z",
  "box-dashed": "M3 2.5h2M7 2.5h2M11 2.5h2M13.5 5v2M13.5 9v2M13 13.5h-2M9 13.5H7M5 13.5H3M2.5 11V9M2.5 7V5",
  "sort-asc": "M4 10l4-4 4 4",
  "sort-desc": "M4 6l4 4 4-4",
  warning: "M8 2.5l6 11H2zM8 7v3M8 11.8v.2",
  clock: "M8 2.5a5.5 5.5 0 1 0 0 11a5.5 5.5 0 1 0 0-11zM8 5v3.2l2 1.3",
  menu: "M2.5 4h11M2.5 8h11M2.5 12h11",
} as const;

export type IconName = keyof typeof PATHS;

export function Icon({
  name,
  label,
  size = 16,
  className,
}: {
  name: IconName;
  label?: string;
  size?: number;
  className?: string;
}) {
  return (
    <svg
      className={`icon icon-${name}${className ? ` ${className}` : ""}`}
      width={size}
      height={size}
      viewBox="0 0 16 16"
      fill="none"
      stroke="currentColor"
      strokeWidth={1.6}
      strokeLinecap="round"
      strokeLinejoin="round"
      {...(label ? { role: "img", "aria-label": label } : { "aria-hidden": true })}
      data-icon={name}
    >
      {label && <title>{label}</title>}
      <path d={PATHS[name]} />
    </svg>
  );
}
