// The guided tour: each step is a saved view (applied like any other, so back/forward and
// links work) and a few sentences about what it shows.

import { TUTORIAL_WINDOW } from "./state.js";

const TUTORIAL = { kind: "tutorial" };
const FULL = { ...TUTORIAL_WINDOW };
const VALLEY = { wx_min: -0.1, wx_max: 2.1, wrec_min: -0.1, wrec_max: 2.1 };

export const LESSONS = [
  {
    title: "The task: count the ones",
    text: [
      "Every training example is a row of ten bits, and its target is how many of them are 1. "
        + "The tutorial's set has twenty such rows, drawn with a fixed seed, so everyone sees the same data.",
      "The table on the right lists one row: its bits x_k, one per time step. Change the sequence "
        + "number to look at another one.",
    ],
    view: { dataset: TUTORIAL, window: FULL, point: { wx: 1, wrec: 1 }, gradPoints: [], sequence: 0, race: ["rprop"], kept: [], at: null },
  },
  {
    title: "One sequence, step by step",
    text: [
      "The network keeps a single number, its state. At each step it multiplies the state by w_rec "
        + "and adds the input times w_x. With both weights equal to 1 the state is a running count, "
        + "so the last state equals the target exactly.",
      "Click another point on the surface (or move the cursor with the arrow keys and press Enter) "
        + "and watch the states in the table drift away from the count.",
    ],
    view: { dataset: TUTORIAL, window: FULL, point: { wx: 1, wrec: 1 }, gradPoints: [], sequence: 2, race: ["rprop"], kept: [], at: null },
  },
  {
    title: "The loss surface and its valley",
    text: [
      "Each pixel is the mean squared error of the whole data set at one pair of weights, coloured on "
        + "a log scale. The good weights sit in a narrow dark valley around (1, 1).",
      "Above the dashed line w_rec = 1 the loss climbs by orders of magnitude within a short distance: "
        + "a small change of w_rec there changes the output enormously.",
    ],
    view: { dataset: TUTORIAL, window: VALLEY, point: { wx: 1, wrec: 1 }, gradPoints: [], race: ["rprop"], kept: [], at: null },
  },
  {
    title: "Exploding gradients at (1, 2)",
    text: [
      "Going backwards through time, each step multiplies the gradient by w_rec. At w_rec = 2 it "
        + "doubles per step, so the earliest inputs receive a gradient about a thousand times larger than the last one.",
      "The plot below the point's numbers shows that growth on a symmetric log axis.",
    ],
    view: { dataset: TUTORIAL, window: FULL, point: { wx: 1, wrec: 2 }, gradPoints: [{ wx: 1, wrec: 2 }], race: ["rprop"], kept: [], at: null },
  },
  {
    title: "Vanishing gradients at (1, 0.5)",
    text: [
      "With w_rec = 0.5 the same multiplication halves the gradient at every step back, so early inputs "
        + "hardly influence learning at all.",
      "Both points share one axis here: the line of (1, 2) spans many decades, the line of (1, 0.5) "
        + "shrinks towards zero.",
    ],
    view: { dataset: TUTORIAL, window: FULL, point: { wx: 1, wrec: 0.5 }, gradPoints: [{ wx: 1, wrec: 2 }, { wx: 1, wrec: 0.5 }], race: ["rprop"], kept: [], at: null },
  },
  {
    title: "Gradient descent jumps off the surface",
    text: [
      "Plain gradient descent moves by the learning rate times the gradient. Starting at (−1.5, 2), "
        + "where the gradient is huge, its first steps are so long that the weights leave the map and "
        + "overflow: the run is marked diverged.",
      "Press Play to watch it, or drag the white square to try other starts.",
    ],
    view: { dataset: TUTORIAL, window: FULL, point: null, gradPoints: [], start: { wx: -1.5, wrec: 2 }, optimizer: "sgd", race: ["sgd"], iterations: 500, kept: [], at: null },
  },
  {
    title: "RProp reaches (1, 1)",
    text: [
      "RProp ignores the size of the gradient and uses only its sign. Each weight has its own step, "
        + "which grows while the sign stays the same and halves when it flips.",
      "From the same start it walks down into the valley and ends next to (1, 1) after 500 steps, "
        + "while gradient descent is gone. Try Race from here at other points.",
    ],
    view: { dataset: TUTORIAL, window: FULL, point: null, gradPoints: [], start: { wx: -1.5, wrec: 2 }, optimizer: "rprop", race: ["rprop", "sgd"], iterations: 500, kept: [], at: null },
  },
];

/** Show step `index` of the tour in its panel (or hide the panel for null). */
export function renderLesson(index) {
  const panel = document.getElementById("lesson");
  panel.hidden = index === null;
  if (index === null) return;
  const lesson = LESSONS[index];
  document.getElementById("lesson-title").textContent = lesson.title;
  document.getElementById("lesson-step").textContent = `Step ${index + 1} of ${LESSONS.length}`;
  const text = document.getElementById("lesson-text");
  text.replaceChildren(...lesson.text.map((line) => {
    const p = document.createElement("p");
    p.textContent = line;
    return p;
  }));
  document.getElementById("lesson-prev").disabled = index === 0;
  document.getElementById("lesson-next").disabled = index === LESSONS.length - 1;
}
