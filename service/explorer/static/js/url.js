// The whole view in the URL's fragment (the server never sees it), so a link reproduces
// what the page shows and back/forward walk through views.

import { defaultView } from "./state.js";

const num = (text) => (text === "" || text === null ? NaN : Number(text));
const pair = (text) => {
  const [wx, wrec] = String(text).split(",").map(num);
  return Number.isFinite(wx) && Number.isFinite(wrec) ? { wx, wrec } : null;
};

/** The view as a fragment: short keys, numbers as typed, structures as JSON. */
export function encode(view) {
  const q = new URLSearchParams();
  const d = view.dataset;
  q.set("ds", d.kind === "id" ? `id:${d.id}` : d.kind === "spec" ? `spec:${JSON.stringify(d.spec)}` : "tutorial");
  const w = view.window;
  q.set("win", [w.wx_min, w.wx_max, w.wrec_min, w.wrec_max].join(","));
  q.set("res", view.resolution);
  q.set("scale", view.scale);
  if (view.point) q.set("pt", `${view.point.wx},${view.point.wrec}`);
  if (view.gradPoints.length) q.set("gp", view.gradPoints.map((p) => `${p.wx},${p.wrec}`).join(";"));
  q.set("start", `${view.start.wx},${view.start.wrec}`);
  q.set("opt", view.optimizer);
  if (Object.keys(view.hyper).length) q.set("hp", JSON.stringify(view.hyper));
  q.set("race", view.race.join(","));
  q.set("it", view.iterations);
  if (view.at !== null) q.set("at", view.at);
  if (view.kept.length) q.set("kept", JSON.stringify(view.kept));
  if (view.sequence) q.set("seq", view.sequence);
  if (view.lesson !== null) q.set("lesson", view.lesson);
  return `#${q.toString()}`;
}

/** A view from a fragment; anything missing or malformed keeps its default. */
export function decode(fragment) {
  const view = defaultView();
  const q = new URLSearchParams(fragment.replace(/^#/, ""));
  const json = (key, fallback) => {
    try {
      return q.has(key) ? JSON.parse(q.get(key)) : fallback;
    } catch {
      return fallback;
    }
  };
  const ds = q.get("ds") || "tutorial";
  if (ds.startsWith("id:")) view.dataset = { kind: "id", id: ds.slice(3) };
  else if (ds.startsWith("spec:")) {
    try {
      view.dataset = { kind: "spec", spec: JSON.parse(ds.slice(5)) };
    } catch { /* the default */ }
  }
  const win = (q.get("win") || "").split(",").map(num);
  if (win.length === 4 && win.every(Number.isFinite) && win[0] < win[1] && win[2] < win[3]) {
    view.window = { wx_min: win[0], wx_max: win[1], wrec_min: win[2], wrec_max: win[3] };
  }
  const res = num(q.get("res"));
  if (Number.isInteger(res) && res >= 2) view.resolution = res;
  if (["auto", "tutorial"].includes(q.get("scale"))) view.scale = q.get("scale");
  view.point = q.has("pt") ? pair(q.get("pt")) : null;
  view.gradPoints = (q.get("gp") || "").split(";").map(pair).filter(Boolean);
  view.start = pair(q.get("start")) || view.start;
  view.optimizer = q.get("opt") || view.optimizer;
  view.hyper = json("hp", {});
  const race = (q.get("race") || "").split(",").filter(Boolean);
  if (race.length) view.race = race;
  const it = num(q.get("it"));
  if (Number.isInteger(it) && it >= 1) view.iterations = it;
  const at = num(q.get("at"));
  view.at = Number.isInteger(at) && at >= 0 ? at : null;
  const kept = json("kept", []);
  view.kept = Array.isArray(kept) ? kept : [];
  const seq = num(q.get("seq"));
  view.sequence = Number.isInteger(seq) && seq >= 0 ? seq : 0;
  const lesson = num(q.get("lesson"));
  view.lesson = Number.isInteger(lesson) && lesson >= 0 ? lesson : null;
  return view;
}

/** Write `view` into the address bar: a new history entry, or in place. */
export function record(view, how) {
  const fragment = encode(view);
  if (fragment === location.hash) return;
  if (how === "push") history.pushState(null, "", fragment);
  else if (how === "replace") history.replaceState(null, "", fragment);
}
