// wasi:config/store for the component, from the DIXA_CONFIG environment variable
// (a JSON object such as {"base-url": "...", "api-key": "..."}).
const values = new Map(Object.entries(JSON.parse(process.env.DIXA_CONFIG ?? "{}")));

export function get(key) {
  return values.get(key);
}

export function getAll() {
  return [...values.entries()];
}
