// Talking to this server's JSON API: the bearer token, problem+json errors, event streams.

const TOKEN_KEY = "rnnlab.token";

/** A failed request: its HTTP status and problem document (RFC 9457). */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.problem = problem;
  }
}

let tokenPrompt = null; // one dialog however many requests got a 401 meanwhile

/** Ask for the API token; `refused` says the last one was not accepted. */
function askToken(refused) {
  if (tokenPrompt) return tokenPrompt;
  tokenPrompt = new Promise((resolve, reject) => {
    const dialog = document.getElementById("token-dialog");
    const input = dialog.querySelector("input");
    const message = document.getElementById("token-error");
    message.hidden = !refused;
    message.textContent = refused ? "That token was not accepted. Check it and try again." : "";
    input.value = "";
    dialog.addEventListener("close", () => {
      tokenPrompt = null;
      const token = input.value.trim();
      if (dialog.returnValue === "ok" && token) {
        sessionStorage.setItem(TOKEN_KEY, token);
        resolve();
      } else {
        reject(new ApiError(401, { title: "Unauthorized", detail: "no API token given" }));
      }
    }, { once: true });
    dialog.returnValue = "";
    dialog.showModal();
    input.focus();
  });
  return tokenPrompt;
}

/** Install the token dialog's Cancel button (Enter submits "Use token", the first button). */
export function installTokenDialog() {
  const dialog = document.getElementById("token-dialog");
  document.getElementById("token-cancel").addEventListener("click", () => dialog.close("cancel"));
}

/** fetch() with the token; a 401 asks for one and retries; a failure throws ApiError. */
export async function request(path, { method = "GET", json, signal, accept } = {}) {
  for (;;) {
    const headers = new Headers();
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers.set("Authorization", `Bearer ${token}`);
    if (accept) headers.set("Accept", accept);
    if (json !== undefined) headers.set("Content-Type", "application/json");
    const body = json === undefined ? undefined : JSON.stringify(json);
    const res = await fetch(path, { method, headers, body, signal });
    if (res.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      await askToken(Boolean(token));
      continue;
    }
    if (!res.ok) {
      let problem = { title: res.statusText };
      try {
        problem = await res.json();
      } catch { /* not JSON */ }
      throw new ApiError(res.status, problem);
    }
    return res;
  }
}

export const getJson = async (path, options) => (await request(path, options)).json();
export const postJson = async (path, json, options = {}) =>
  (await request(path, { ...options, method: "POST", json })).json();

/** The dataset reference as query parameters and as body fields. */
export function datasetParams(dataset) {
  if (dataset.kind === "id") return { dataset_id: dataset.id };
  if (dataset.kind === "spec") return { ...dataset.spec };
  return {};
}

export function datasetBody(dataset) {
  if (dataset.kind === "id") return { dataset_id: dataset.id };
  if (dataset.kind === "spec") return { dataset: { ...dataset.spec } };
  return {};
}

/** Server-sent events from a fetch body (EventSource cannot send Authorization). */
export async function* sseEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        const colon = line.indexOf(":");
        if (colon === 0) continue; // a comment (keep-alive)
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") event = text;
        else if (field === "data") data.push(text);
      }
      if (data.length) yield { event, data: data.join("\n") };
    }
  }
}
