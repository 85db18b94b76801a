// The page: a prompt form, two synchronised 3D views (LEAD and MLD of the same seed), playback controls,
// downloads, concept upload and this page's history. State for tests and scripts: window.leadPage and
// document.body.dataset.state (loading, ready, generating, playing, paused, error).
import { SkeletonView } from "./viewer.js";

const $ = (id) => document.getElementById(id);
const VARIANTS = ["lead", "mld"];
const session = (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`.replace(/[^0-9a-z-]/gi, ""))
  .slice(0, 64);
const page = (window.leadPage = { state: "loading", frame: 0, frames: 0, ticks: 0, playing: true, generations: 0,
  error: null, session, tokens: [] });
const views = {};
const history = [];
let info = null, current = null, sampleIndex = 0, clock = 0, last = performance.now(), speed = 1;

function setState(state) {
  page.state = state;
  document.body.dataset.state = state;
}

function say(text, error = false) {
  $("message").textContent = text;
  $("message").classList.toggle("error", error);
  if (error) page.error = text;
}

async function readJSON(response) {
  try {
    return await response.json();
  } catch {
    return { error: `the server answered ${response.status} ${response.statusText}` };
  }
}

async function init() {
  try {
    info = await readJSON(await fetch("/api/info"));
  } catch (error) {
    setState("error");
    return say(`cannot reach the server: ${error}`, true);
  }
  for (const name of info.samplers) $("sampler").add(new Option(name, name));
  $("seconds").max = info.limits.max_seconds.toFixed(2);
  $("samples").max = info.limits.max_samples;
  $("steps").max = info.limits.max_steps;
  $("guidance").value = info.defaults.guidance;  // the model's own default
  $("sampler").addEventListener("change", () => {  // the lcm student was distilled on guidance 5..15
    $("guidance").value = $("sampler").value === "lcm" ? info.defaults.lcm_guidance : info.defaults.guidance;
  });
  $("prompt").maxLength = info.limits.max_text_chars;
  $("model").textContent = `model ${info.model.sha256 || ""} · ${info.model.components || ""} · lead ${info.lead_version}`;
  try {
    views.lead = new SkeletonView($("view-lead"), 0xe8743b);
    views.mld = new SkeletonView($("view-mld"), 0x4c9be8);
  } catch (error) {
    setState("error");
    return say(`this browser cannot draw WebGL (${error.message}); the downloads still work`, true);
  }
  setState("ready");
  say("Type a sentence and press Generate.");
  requestAnimationFrame(tick);
}

function tick(now) {
  const dt = Math.min(0.1, (now - last) / 1000);
  last = now;
  if (current) {
    const frames = current.frames;
    if (page.playing) clock = (clock + dt * speed) % (frames / current.fps);
    const frame = Math.min(frames - 1, Math.floor(clock * current.fps));
    for (const name of VARIANTS) {
      if (!current.samples[sampleIndex].motions[name]) continue;
      views[name].follow = $("follow").checked;
      views[name].setFrame(frame);
    }
    $("scrub").value = frame;
    $("time").textContent = `${(frame / current.fps).toFixed(2)} s`;
    page.frame = frame;
    page.ticks += 1;
  }
  for (const view of Object.values(views)) view.render();
  requestAnimationFrame(tick);
}

function settings() {
  return {
    text: $("prompt").value, seconds: Number($("seconds").value), seed: Number($("seed").value),
    num_samples: Number($("samples").value), guidance: Number($("guidance").value), sampler: $("sampler").value,
    steps: Number($("steps").value), projector: $("projector").value, session,
  };
}

async function generate(event) {
  event.preventDefault();
  const body = settings();
  if (!body.text.trim()) return say("Describe a motion first, e.g. 'a person waves with the left hand'.", true);
  $("generate").disabled = true;
  setState("generating");
  say("Generating…");
  const started = performance.now();
  try {
    const response = await fetch("/api/generate", { method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify(body) });
    const result = await readJSON(response);
    if (!response.ok) throw new Error(result.error || `error ${response.status}`);
    history.push(result);
    page.generations = history.length;
    page.error = null;
    show(result);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const used = result.concepts.length ? `, concepts ${result.concepts.join(" ")}` : "";
    const warning = result.warning ? ` Warning: ${result.warning}` : "";
    say(`Generated in ${seconds} s (${result.batch_rows} sample(s) in its batch${used}).${warning}`);
  } catch (error) {
    setState("error");
    say(error.message, true);
  } finally {
    $("generate").disabled = false;
  }
}

function show(generation) {
  current = generation;
  $("sample").replaceChildren(...generation.samples.map((s, i) => new Option(`${i + 1} (seed ${s.seed})`, i)));
  showSample(0);
  renderHistory();
}

function showSample(index) {
  sampleIndex = index;
  const sample = current.samples[index];
  const head = info.joint_names.indexOf("head");
  for (const name of VARIANTS) {
    const motion = sample.motions[name];
    $(`view-${name}`).classList.toggle("hidden", !motion);
    if (motion) views[name].setMotion(motion.joints, current.parents, head);
  }
  for (const view of Object.values(views)) view.resize();
  $("scrub").max = current.frames - 1;
  clock = 0;
  page.frames = current.frames;
  page.playing = true;
  $("play").textContent = "❚❚";
  setState("playing");
  renderDownloads(sample);
}

function renderDownloads(sample) {
  const parts = [];
  for (const name of VARIANTS) {
    const motion = sample.motions[name];
    if (!motion) continue;
    const label = document.createElement("span");
    label.textContent = `${name.toUpperCase()}:`;
    parts.push(label);
    for (const [kind, title] of [["bvh", "BVH"], ["npy", "features .npy"], ["joints", "joints .npy"], ["mp4", "mp4"]]) {
      const link = document.createElement("a");
      link.href = motion.files[kind];
      link.textContent = title;
      link.setAttribute("download", "");
      parts.push(link);
    }
  }
  $("downloads").replaceChildren(...parts);
}

function renderHistory() {
  $("history").replaceChildren(...history.map((generation) => {
    const item = document.createElement("li");
    const s = generation.settings;
    item.textContent = generation.text;
    const detail = document.createElement("small");
    detail.textContent = ` ${generation.seconds.toFixed(1)} s · seed ${s.seed} · ${s.sampler} ${s.steps}`;
    item.append(detail);
    item.classList.toggle("current", generation === current);
    item.addEventListener("click", () => show(generation));
    return item;
  }).reverse());
}

function togglePlay() {
  if (!current) return;
  page.playing = !page.playing;
  $("play").textContent = page.playing ? "❚❚" : "▶";
  setState(page.playing ? "playing" : "paused");
}

async function uploadConcept() {
  const file = $("concept-file").files[0];
  if (!file) return;
  const form = new FormData();
  form.append("file", file);
  form.append("session", session);
  const response = await fetch("/api/concepts", { method: "POST", body: form });
  const result = await readJSON(response);
  $("concept-file").value = "";
  if (!response.ok) return say(result.error || `upload failed (${response.status})`, true);
  say(`Concept ${result.token} is ready: use it in a prompt.`);
  page.tokens = result.tokens;
  $("tokens").replaceChildren(...result.tokens.map((token) => {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = token;
    button.title = "insert into the prompt";
    button.addEventListener("click", () => {
      $("prompt").setRangeText(` ${token} `, $("prompt").selectionStart, $("prompt").selectionEnd, "end");
      $("prompt").focus();
    });
    return button;
  }));
}

$("form").addEventListener("submit", generate);
$("play").addEventListener("click", togglePlay);
$("scrub").addEventListener("input", () => {
  if (!current) return;
  clock = Number($("scrub").value) / current.fps;
  if (page.playing) togglePlay();
});
$("speed").addEventListener("change", () => { speed = Number($("speed").value); });
$("sample").addEventListener("change", () => showSample(Number($("sample").value)));
$("concept-file").addEventListener("change", uploadConcept);
$("prompt").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) $("form").requestSubmit();
});
document.addEventListener("keydown", (event) => {
  if (event.code === "Space" && !["TEXTAREA", "INPUT", "SELECT"].includes(event.target.tagName)) {
    event.preventDefault();
    togglePlay();
  }
});
init();
