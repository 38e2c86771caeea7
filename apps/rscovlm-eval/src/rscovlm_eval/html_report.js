// The gallery of report.html: filters and paging over the samples embedded in the page (no network, no framework).
"use strict";
(function () {
  const PAGE = 24;
  const data = JSON.parse(document.getElementById("samples").textContent);
  const samples = data.samples;
  const filters = { benchmark: "", task: "", outcome: "", cls: "" };
  const pages = {};

  function outcome(s) {
    if (s.error) return "error";
    return s.ok === true ? "correct" : s.ok === false ? "wrong" : "unscored";
  }

  function matches(s) {
    return (
      (!filters.benchmark || s.b === filters.benchmark) &&
      (!filters.task || s.task === filters.task) &&
      (!filters.outcome || outcome(s) === filters.outcome) &&
      (!filters.cls || s.cls.includes(filters.cls))
    );
  }

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function block(card, title, text) {
    if (text === null || text === undefined || text === "") return;
    const details = el("details", "field");
    details.open = title !== "prompt";
    details.appendChild(el("summary", null, title));
    details.appendChild(el("pre", null, text));
    card.appendChild(details);
  }

  function card(s) {
    const node = el("article", "card " + outcome(s));
    node.dataset.id = s.id;
    node.dataset.outcome = outcome(s);
    const images = el("div", "images");
    s.img.forEach((src, k) => {
      const img = el("img");
      img.src = src;
      img.alt = k === 0 ? s.id : s.id + " zoom " + k;
      images.appendChild(img);
    });
    if (s.img_error) images.appendChild(el("p", "missing", s.img_error));
    node.appendChild(images);
    const head = el("div", "head");
    head.appendChild(el("span", "sample-id", s.id));
    head.appendChild(el("span", "badge " + outcome(s), outcome(s)));
    const link = el("a", "cache", s.cache);
    link.href = s.cache.replace(/:\d+$/, "");
    link.title = "the sample's line in the prediction cache";
    head.appendChild(link);
    node.appendChild(head);
    if (s.cls.length) node.appendChild(el("p", "classes", s.cls.join(", ")));
    block(node, "error", s.error);
    block(node, "prompt", s.prompt === null ? null : data.prompts[s.prompt]);
    block(node, "answer", s.answer === "" ? "(empty answer)" : s.answer);
    block(node, s.task === "captioning" ? "references" : "ground truth", s.refs.join("\n"));
    block(node, "parsed objects", s.parsed.map((o) => (o[0] ? o[0] + ": " : "") + o[1].join(", ")).join("\n"));
    block(node, "dropped by the parser", s.dropped.map((d) => d[1] + ": " + d[0]).join("\n"));
    block(
      node,
      "zoom rounds",
      s.zoom.map((r, k) => "round " + (k + 1) + " [" + r.status + "] " + (r.window ? "crop " + r.window.join(",") + " · " : "") + r.text).join("\n")
    );
    return node;
  }

  function render() {
    document.querySelectorAll(".gallery").forEach((gallery) => {
      const key = gallery.dataset.benchmark;
      const chosen = samples.filter((s) => s.b === key && matches(s));
      const total = samples.filter((s) => s.b === key).length;
      const count = Math.max(1, Math.ceil(chosen.length / PAGE));
      const page = Math.min(pages[key] || 0, count - 1);
      pages[key] = page;
      gallery.hidden = Boolean(filters.benchmark) && filters.benchmark !== key;
      gallery.dataset.visible = chosen.length;
      gallery.querySelector(".count").textContent = chosen.length + " of " + total + " samples";
      gallery.querySelector(".page").textContent = "page " + (page + 1) + " of " + count;
      gallery.querySelector(".prev").disabled = page === 0;
      gallery.querySelector(".next").disabled = page >= count - 1;
      const cards = gallery.querySelector(".cards");
      cards.replaceChildren(...chosen.slice(page * PAGE, (page + 1) * PAGE).map(card));
      if (!chosen.length) cards.appendChild(el("p", "empty", "no sample matches the filters"));
    });
  }

  document.querySelectorAll("#filters select").forEach((select) => {
    select.addEventListener("change", () => {
      filters[select.dataset.filter] = select.value;
      Object.keys(pages).forEach((k) => (pages[k] = 0));
      render();
    });
  });
  document.querySelectorAll(".gallery").forEach((gallery) => {
    const key = gallery.dataset.benchmark;
    gallery.querySelector(".prev").addEventListener("click", () => { pages[key] -= 1; render(); });
    gallery.querySelector(".next").addEventListener("click", () => { pages[key] += 1; render(); });
  });
  render();
  document.body.dataset.ready = "true";
})();
