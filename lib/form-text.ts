/**
 * A form field's text. FormData answers a string, a File (an upload) or null; only a string is text,
 * so a File never turns into "[object File]".
 */
export function formText(form: FormData, name: string): string {
  const value = form.get(name);
  return typeof value === "string" ? value : "";
}
