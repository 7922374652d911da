() => {
  // The explorer's map (plotly, in #explorer-map): a click on a point picks it, as the picker would (the
  // TensorBoard projector's way). Its "#id" goes into the hidden CLICKED box, and the hidden button's event
  // picks it on the server. Each render of the map may be a new plot element: each one is hooked once.
  const CLICKED = "#explorer-clicked";
  const BUTTON = "#explorer-clicked-btn";
  const hooked = new WeakSet();

  function pick(ref) {
    const box = document.querySelector(`${CLICKED} textarea, ${CLICKED} input`);
    const button = document.querySelector(BUTTON);
    if (!box || !button) return;
    box.value = ref;
    box.dispatchEvent(new Event("input", { bubbles: true }));
    setTimeout(() => button.click(), 0); // after the box's value has reached the app
  }

  function isPoint(point) { // the scatter's points carry [ref, kind]; the path, links and ring carry none
    const data = point && point.customdata;
    return Array.isArray(data) && typeof data[0] === "string" && data[0].startsWith("#");
  }

  function hook() {
    for (const plot of document.querySelectorAll("#explorer-map .js-plotly-plot")) {
      if (hooked.has(plot) || typeof plot.on !== "function") continue;
      hooked.add(plot);
      plot.on("plotly_click", (event) => {
        const point = (event && event.points || []).find(isPoint);
        if (point) pick(point.customdata[0].split(" ")[0]); // "#12"
      });
    }
  }

  let queued = false; // at most one look a frame: the page changes often (live previews, progress)
  new MutationObserver(() => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; hook(); });
  }).observe(document.body, { childList: true, subtree: true });
  hook();
}
