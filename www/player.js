// gordo's player page: plays the mount the page names (its #config) with what its format
// and the browser allow, and shows, each second, how far behind live the picture is.
//   HLS (the mount has --hls): hls.js; Safari/iOS (no MediaSource): the native player
//   MPEG-TS, FLV: mpegts.js        fragmented MP4: MSE, the stream's body appended as it comes
//   WebM, Matroska: <video>        AAC, MP3, Ogg, Opus: <audio>
// window.gordoPlayer is what the tests read: {how, media, errors, behind()}.
(function () {
  "use strict";
  const cfg = JSON.parse(document.getElementById("config").textContent);
  const query = location.search; // a signed link's token: the stream wants it too
  const audio = cfg.type.startsWith("audio/");
  const media = document.createElement(audio ? "audio" : "video");
  media.controls = true;
  media.autoplay = true;
  media.playsInline = true;
  media.muted = !audio; // browsers let a muted video start by itself
  document.getElementById("player").appendChild(media);
  const state = {how: "", media: media, errors: [], hls: null, mpegts: null, behind: behind};
  window.gordoPlayer = state;
  const show = (id, text) => { document.getElementById(id).textContent = text; };

  function fail(what) {
    state.errors.push(String(what));
    show("state", "error: " + what);
    document.getElementById("state").className = "error";
  }
  media.addEventListener("error", () => {
    const e = media.error;
    fail("media error " + (e ? e.code + " " + (e.message || "") : ""));
  });
  media.addEventListener("playing", () => show("state", "playing"));
  media.addEventListener("waiting", () => show("state", "buffering"));

  function load(src) {
    return new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = src;
      s.onload = resolve;
      s.onerror = () => reject(new Error("cannot load " + src));
      document.head.appendChild(s);
    });
  }

  function play() {
    const p = media.play();
    if (p) p.catch(() => show("state", "press play"));
  }

  // Seconds between the newest media the player has and what it shows.
  function behind() {
    if (state.hls && typeof state.hls.latency === "number" && state.hls.latency > 0)
      return state.hls.latency;
    const b = media.buffered;
    if (!b.length) return null;
    return Math.max(0, b.end(b.length - 1) - media.currentTime);
  }

  async function startHls() {
    if (!window.MediaSource && media.canPlayType("application/vnd.apple.mpegurl")) {
      state.how = "native HLS";
      media.src = cfg.hls + query;
      return play();
    }
    await load(cfg.hls_js);
    state.how = "hls.js " + Hls.version;
    const hls = new Hls({lowLatencyMode: true});
    state.hls = hls;
    hls.on(Hls.Events.ERROR, (_, d) => { if (d.fatal) fail("hls.js: " + d.type + " " + d.details); });
    hls.loadSource(cfg.hls + query);
    hls.attachMedia(media);
    play();
  }

  async function startMpegts(type) {
    await load(cfg.mpegts_js);
    if (!mpegts.getFeatureList().mseLivePlayback) return fail("this browser has no MSE live playback");
    state.how = "mpegts.js " + (mpegts.version || "") + " (" + type + ")";
    const player = mpegts.createPlayer(
      {type: type, isLive: true, url: new URL(cfg.path + query, location.href).href},
      {enableStashBuffer: false, liveBufferLatencyChasing: true, lazyLoad: false});
    state.mpegts = player;
    player.on(mpegts.Events.ERROR, (type, detail) => fail("mpegts.js: " + type + " " + detail));
    player.attachMediaElement(media);
    player.load();
    play();
  }

  // Fragmented MP4 into a SourceBuffer: the stream is the init segment, then fragments,
  // each starting at a keyframe; they are appended in order as the body arrives.
  async function startMse() {
    const type = 'video/mp4; codecs="' + cfg.codecs + '"';
    if (!cfg.codecs) return fail("the stream's codecs are not known yet: reload");
    if (!window.MediaSource || !MediaSource.isTypeSupported(type))
      return fail("this browser cannot play " + type);
    state.how = "MSE (" + type + ")";
    const ms = new MediaSource();
    media.src = URL.createObjectURL(ms);
    await new Promise((r) => ms.addEventListener("sourceopen", r, {once: true}));
    const sb = ms.addSourceBuffer(type);
    sb.mode = "segments";
    const queue = [];
    const next = () => {
      if (sb.updating || !queue.length) return;
      // Keep about 30 s behind the playhead: a live stream never ends.
      const b = sb.buffered;
      if (b.length && media.currentTime - b.start(0) > 60) return sb.remove(0, media.currentTime - 30);
      try {
        sb.appendBuffer(queue.shift());
      } catch (e) {
        fail("appendBuffer: " + e.message);
      }
    };
    sb.addEventListener("updateend", () => {
      // Start at (and, if it fell far behind, jump back to) the newest data.
      const b = sb.buffered;
      if (b.length) {
        const end = b.end(b.length - 1);
        if (media.currentTime < b.start(0) || end - media.currentTime > 8)
          media.currentTime = Math.max(b.start(b.length - 1), end - 1);
      }
      next();
    });
    play();
    const response = await fetch(cfg.path + query);
    if (!response.ok) return fail("HTTP " + response.status);
    const reader = response.body.getReader();
    for (;;) {
      const {done, value} = await reader.read();
      if (done) return show("state", "the stream ended");
      queue.push(value);
      next();
    }
  }

  let start;
  if (cfg.hls) start = startHls;
  else if (cfg.type === "video/mp2t") start = () => startMpegts("mpegts");
  else if (cfg.type === "video/x-flv") start = () => startMpegts("flv");
  else if (cfg.type === "video/mp4") start = startMse;
  else start = () => { state.how = "<" + media.localName + ">"; media.src = cfg.path + query; play(); };
  Promise.resolve().then(start).catch((e) => fail(e.message));
  if (!cfg.live) show("state", "the source is not live now");

  setInterval(() => {
    const b = behind();
    show("behind", b === null ? "-" : b.toFixed(1) + " s");
    show("how", state.how);
  }, 1000);
})();
