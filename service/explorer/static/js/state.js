// The page's one mutable store. Two parts: `view`, everything a link reproduces (kept in
// the URL by url.js), and `live`, what the page computed or is doing (never shared).
// Modules read both, change them only through the functions here, and hear about view
// changes by subscribing.

export const TUTORIAL_WINDOW = Object.freeze({ wx_min: -3, wx_max: 3, wrec_min: -3, wrec_max: 3 });

/** The view a fresh page shows: the tutorial's dataset, window and RProp run. */
export function defaultView() {
  return {
    dataset: { kind: "tutorial" },
    window: { ...TUTORIAL_WINDOW },
    resolution: 120,
    scale: "auto",
    point: null, // { wx, wrec } inspected
    gradPoints: [], // [{ wx, wrec }] overlaid in the gradient-over-time plot
    start: { wx: -1.5, wrec: 2 },
    optimizer: "rprop", // the one whose hyperparameters the form shows
    hyper: {}, // { name: { hyperparameter: value } }: only values that differ from the defaults
    race: ["rprop"], // optimizers run live from the start
    iterations: 500,
    at: null, // iterations shown of the live runs (null: all)
    kept: [], // runs kept on the surface: { optimizer, hyper, start, iterations, dataset, job?, hidden }
    sequence: 0, // forward pass: index of the sequence
    lesson: null, // index of the lesson step shown, or null
  };
}

export const store = {
  view: defaultView(),
  live: {
    optimizers: [], // GET /optimizers
    surface: null, // the last GET /loss-surface answer for view.window
    runs: new Map(), // optimizer name -> { request, answer, pending }
    keptAnswers: new Map(), // kept run key -> { answer } (a /runs answer or a job's path)
    runLimit: Infinity, // max_run_iterations, learnt from the server's 413
    playing: false,
    jobs: new Map(), // optimizer name -> { id, status, progress: [{iteration, loss}] }
    selectedJob: null,
    openRun: null, // legend key of the run whose details are shown
    cursor: null, // keyboard cursor on the surface { wx, wrec }
  },
};

const listeners = new Set();

/** Call `listener(view, previous, how)` after every view change. */
export function subscribe(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/**
 * Change the view. `history` says how the URL follows: "push" (a new entry: back returns
 * here), "replace" (the same entry, e.g. while dragging) or "none" (from the URL itself).
 */
export function setView(patch, history = "push") {
  const previous = store.view;
  store.view = { ...previous, ...patch };
  for (const listener of listeners) listener(store.view, previous, history);
}

/** A stable text key of a dataset reference: runs remember which surface they belong to. */
export function datasetKey(dataset) {
  if (dataset.kind === "id") return `id:${dataset.id}`;
  if (dataset.kind === "spec") return `spec:${JSON.stringify(dataset.spec)}`;
  return "tutorial";
}

/** Change the view without telling anyone: for animation frames, recorded at their end. */
export function setViewQuietly(patch) {
  store.view = { ...store.view, ...patch };
}
