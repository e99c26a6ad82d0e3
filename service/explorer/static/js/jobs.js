// The recent training jobs: a table that keeps its selection when it is refreshed, with
// ids people can tell apart and losses that say "–" when there is none yet.

import { getJson } from "./api.js";
import { fmt, shortId } from "./format.js";
import { clearError, showError } from "./notify.js";
import { store } from "./state.js";

const $ = (selector) => document.querySelector(selector);

function lossText(job) {
  const r = job.result;
  if (r) return r.diverged ? "diverged" : fmt(r.loss, r.overflow ? "overflow" : "–");
  return fmt(job.progress ? job.progress.loss : null);
}

/** Refresh the table; `onShow(job)` draws a job's path when its button is pressed. */
export async function refreshJobs(onShow) {
  try {
    const { items } = await getJson("/jobs?limit=10");
    const body = $("#jobs-list");
    body.replaceChildren(...items.map((job) => {
      const row = document.createElement("tr");
      row.dataset.jobId = job.id;
      const selected = store.live.selectedJob === job.id;
      row.classList.toggle("selected", selected);
      row.setAttribute("aria-selected", String(selected));
      const r = job.result;
      const w = (r && r.weights) || (job.progress && job.progress.weights);
      const cells = [
        shortId(job.id),
        r && r.diverged ? `${job.status}, diverged` : job.status,
        lossText(job),
        w ? `(${fmt(w.wx, "overflow")}, ${fmt(w.wrec, "overflow")})` : "–",
      ];
      for (const text of cells) {
        const cell = document.createElement("td");
        cell.textContent = text;
        row.append(cell);
      }
      cells[0] = job.id;
      row.cells[0].title = job.id;
      const action = document.createElement("td");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = "Show";
      button.setAttribute("aria-label", `Show the path of job ${shortId(job.id)}`);
      button.disabled = job.status !== "succeeded";
      button.addEventListener("click", () => {
        store.live.selectedJob = job.id;
        for (const other of body.rows) {
          const on = other.dataset.jobId === job.id;
          other.classList.toggle("selected", on);
          other.setAttribute("aria-selected", String(on));
        }
        onShow(job);
      });
      action.append(button);
      row.append(action);
      return row;
    }));
    clearError("jobs-error");
  } catch (error) {
    showError("jobs-error", error);
  }
}
