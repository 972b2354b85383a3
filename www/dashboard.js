// gordo's admin dashboard: reads /stats each second (with the page's credentials, the same
// as /stats asks), keeps the last five minutes in the page and draws them with uPlot:
// viewers and Mbit/s per mount, Mbit/s per worker; tables of the mounts' sources and states
// and of the workers' load. window.gordoDashboard is what the tests read.
(function () {
  "use strict";
  const keep = 300; // samples: five minutes at one a second
  const history = {t: [], mounts: {}, workers: {}}; // per mount {viewers, mbits}; per worker {mbits}
  const plots = {};
  const state = {polls: 0, errors: 0, last: null, history: history, plots: plots};
  window.gordoDashboard = state;
  let previous = null; // the last snapshot and when, for per-second rates of worker counters

  function series(map, key) {
    // One array per name, as long as history.t (null where the name was not there).
    const names = Object.keys(map).sort();
    return {names: names, data: names.map((n) => map[n][key])};
  }

  function draw(id, map, key) {
    const {names, data} = series(map, key);
    const el = document.getElementById(id);
    const signature = names.join("\n");
    if (!plots[id] || plots[id].signature !== signature) {
      if (plots[id]) plots[id].plot.destroy();
      const colours = ["#0a58ca", "#d63384", "#198754", "#fd7e14", "#6f42c1", "#20c997", "#dc3545", "#6c757d"];
      const opts = {
        width: 460, height: 220,
        scales: {x: {time: true}},
        series: [{}].concat(names.map((n, i) => ({label: n, stroke: colours[i % colours.length], width: 2}))),
        axes: [{}, {size: 50}],
      };
      plots[id] = {signature: signature, plot: new uPlot(opts, [history.t].concat(data), el)};
    } else {
      plots[id].plot.setData([history.t].concat(data));
    }
  }

  function push(map, name, values) {
    if (!map[name]) {
      map[name] = {};
      for (const k in values) map[name][k] = history.t.slice(0, -1).map(() => null);
    }
    for (const k in values) map[name][k].push(values[k]);
  }

  function trim() {
    const extra = history.t.length - keep;
    if (extra <= 0) return;
    history.t.splice(0, extra);
    for (const map of [history.mounts, history.workers])
      for (const name in map) {
        for (const k in map[name]) map[name][k].splice(0, extra);
        if (map[name][Object.keys(map[name])[0]].every((v) => v === null)) delete map[name];
      }
  }

  function cell(tr, text, cls) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    tr.appendChild(td);
  }

  function table(id, rows) {
    const body = document.querySelector("#" + id + " tbody");
    body.replaceChildren(...rows);
  }

  const mbit = (bits) => (bits / 1e6).toFixed(2);

  function take(s, now) {
    state.last = s;
    document.getElementById("version").textContent = s.version;
    const t = now / 1000;
    history.t.push(t);
    const seen = new Set();
    const mountRows = s.mounts.map((m) => {
      seen.add(m.path);
      push(history.mounts, m.path, {viewers: m.viewers, mbits: m.bits_out_per_s / 1e6});
      const tr = document.createElement("tr");
      tr.dataset.path = m.path;
      cell(tr, m.path);
      cell(tr, m.upstream || m.source);
      cell(tr, m.state, m.state);
      cell(tr, m.viewers, "viewers");
      cell(tr, m.viewers_peak);
      cell(tr, mbit(m.bits_out_per_s));
      cell(tr, mbit(m.bits_in_per_s));
      cell(tr, m.keyframe_interval_s ? m.keyframe_interval_s.toFixed(1) + " s" : "-");
      return tr;
    });
    for (const name in history.mounts) if (!seen.has(name)) push(history.mounts, name, {viewers: null, mbits: null});
    const dt = previous ? (now - previous.at) / 1000 : 0;
    const before = previous ? Object.fromEntries(previous.s.workers.map((w) => [w.id, w])) : {};
    const workerRows = s.workers.map((w) => {
      const was = before[w.id];
      const rate = (k) => (was && dt > 0 ? Math.max(0, w[k] - was[k]) / dt : null);
      const bytes = rate("bytes_out");
      push(history.workers, "worker " + w.id, {mbits: bytes === null ? null : (bytes * 8) / 1e6});
      const tr = document.createElement("tr");
      cell(tr, w.id);
      cell(tr, w.cpu < 0 ? "-" : w.cpu);
      cell(tr, w.engine + (w.uring_mode ? " (" + w.uring_mode + ")" : ""));
      cell(tr, w.viewers, "viewers");
      cell(tr, bytes === null ? "-" : mbit(bytes * 8));
      const sends = rate("sends");
      cell(tr, sends === null ? "-" : sends.toFixed(0));
      cell(tr, w.sends_in_flight);
      cell(tr, w.zerocopy);
      cell(tr, w.refused);
      cell(tr, w.timeouts);
      return tr;
    });
    previous = {s: s, at: now};
    trim();
    table("mounts", mountRows);
    table("workers", workerRows);
    draw("viewers", history.mounts, "viewers");
    draw("mbits", history.mounts, "mbits");
    draw("workers_mbits", history.workers, "mbits");
  }

  async function poll() {
    try {
      const r = await fetch("/stats", {cache: "no-store", credentials: "same-origin"});
      if (!r.ok) throw new Error("/stats: HTTP " + r.status);
      take(await r.json(), Date.now());
      state.polls++;
      document.getElementById("status").textContent = "Updated " + new Date().toLocaleTimeString() +
        " (uptime " + Math.round(state.last.uptime_s) + " s)";
    } catch (e) {
      state.errors++;
      document.getElementById("status").textContent = "Cannot read /stats: " + e.message;
    }
  }

  poll();
  setInterval(poll, 1000);
})();
