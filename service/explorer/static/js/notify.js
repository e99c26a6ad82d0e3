// Telling people what happened: announcements for screen readers and errors next to the
// control that caused them, in plain words, cleared by the next success there.

const $ = (selector) => document.querySelector(selector);

/** Announce `text` in the polite live region (the header's status line). */
export function announce(text) {
  $("#status").textContent = text;
}

/** Show `error` (an Error or text) in the error slot `id`, in plain words. */
export function showError(id, error) {
  const slot = document.getElementById(id);
  slot.textContent = typeof error === "string" ? error : plainWords(error);
  slot.hidden = false;
}

export function clearError(id) {
  const slot = document.getElementById(id);
  slot.textContent = "";
  slot.hidden = true;
}

const LIMITS = {
  max_run_iterations: "iterations of an instant run",
  max_path_points: "points of one path",
  max_compute_seconds: "computing time of one request",
  max_grid_points: "grid points of one surface",
  max_resolution: "grid points along one axis",
  max_samples: "sequences in one dataset",
  max_length: "length of generated sequences",
  max_dataset_elements: "size of a generated dataset",
  max_iterations: "iterations of a job",
  max_job_work: "work of one job",
  max_trajectory_points: "recorded points of one job",
};

/** An API error (api.js's ApiError) or a network failure, said simply. */
export function plainWords(error) {
  if (!error) return "Something went wrong.";
  if (error.name === "TypeError") return "The server cannot be reached. Is it running?";
  const body = error.problem || {};
  switch (error.status) {
    case 401:
      return "This server wants an API token.";
    case 404:
      return error.notFound || "That was not found on the server (it may have been deleted).";
    case 409:
      return "That is not possible in the job's current state.";
    case 413: {
      const limit = body.limit || {};
      const what = LIMITS[limit.name] || "size";
      return `That is more than this server allows: the ${what} is limited to ${limit.value}.`;
    }
    case 422: {
      const first = (body.errors || [])[0];
      if (first) {
        const field = first.loc ? String(first.loc[first.loc.length - 1]).replace(/_/g, " ") : "a value";
        return `The ${field} is not valid: ${first.msg.replace(/^Value error, /, "")}.`;
      }
      return "A value is not valid.";
    }
    case 429:
      return "The server is busy. Try again in a moment.";
    case 503:
      return "The server's job queue is not available right now. Try again shortly.";
    default:
      return error.message || "Something went wrong.";
  }
}
