// The search page's script: reads the form (a dropped photo as base64), posts it as JSON and
// shows the server-rendered (escaped) fragment. Changing a stage switch, the image weight or the
// fusion method searches again and marks how far each product moved.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  let photo = null; // base64 of the chosen file, without the data: prefix
  let previous = []; // product ids of the last ranking
  let pending = null;

  function readFile(file) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ""));
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(file);
    });
  }

  async function choose(file, label) {
    const max = Number($("photo").dataset.maxBytes);
    if (file.size > max) {
      showStatus(`This photo is too large (${file.size} bytes; the limit is ${max}). Try a smaller one.`, true);
      photo = null;
      return;
    }
    photo = await readFile(file);
    $("product").value = "";
    const preview = $("preview");
    preview.src = URL.createObjectURL(file);
    preview.hidden = false;
    $("drop-text").textContent = label || file.name;
  }

  function useProduct(id) {
    photo = null;
    $("photo").value = "";
    $("product").value = id;
    $("preview").src = `product-image?id=${encodeURIComponent(id)}`;
    $("preview").hidden = false;
    $("drop-text").textContent = `product ${id}`;
  }

  // An example: its photo becomes the reference (as if uploaded) and its change is searched;
  // a catalog product offered as an example becomes the reference, the change is left to the user.
  async function useExample(button) {
    if (button.dataset.productId) {
      useProduct(button.dataset.productId);
      $("text").focus();
      return;
    }
    const response = await fetch(`example-photo?n=${encodeURIComponent(button.dataset.example)}`);
    if (!response.ok) {
      showStatus("This example could not be loaded.", true);
      return;
    }
    await choose(await response.blob(), `example: ${button.dataset.text}`);
    $("text").value = button.dataset.text;
    previous = [];
    search();
  }

  function showStatus(message, isError) {
    const status = $("status");
    status.textContent = message;
    status.className = isError ? "error" : "";
  }

  function form() {
    const num = (id) => ($(id).value === "" ? null : Number($(id).value));
    const attributes = {};
    document.querySelectorAll("select.attribute").forEach((s) => {
      if (s.value) attributes[s.dataset.key] = s.value;
    });
    return {
      image: photo,
      product: $("product").value.trim() || null,
      text: $("text").value,
      category: $("category").value || null,
      price_min: num("price-min"),
      price_max: num("price-max"),
      attributes: attributes,
      remove_background: { "": null, true: true, false: false, auto: "auto" }[$("remove-background").value],
      caption: $("caption").checked,
      image_weight: $("default-weight").checked ? null : Number($("image-weight").value),
      fusion_method: $("fusion-method").value || null,
      direction_gain: num("direction-gain"),
      limit: num("limit") || 12,
    };
  }

  // While "server default weight" is ticked, the slider shows the weight the server used.
  function followServerWeight() {
    const used = $("ex-image-weight");
    if (!$("default-weight").checked || !used) return;
    const weight = Number(used.dataset.imageWeight);
    if (Number.isNaN(weight)) return;
    $("image-weight").value = String(weight);
    $("image-weight-value").textContent = weight.toFixed(2);
  }

  function markMoves() {
    const ids = Array.from(document.querySelectorAll("#cards .card")).map((c) => c.dataset.productId);
    document.querySelectorAll("#cards .card").forEach((card, rank) => {
      const before = previous.indexOf(card.dataset.productId);
      const moved = card.querySelector(".moved");
      if (previous.length === 0) return;
      if (before === -1) moved.textContent = "new";
      else if (before > rank) moved.textContent = `▲${before - rank}`;
      else if (before < rank) moved.textContent = `▼${rank - before}`;
    });
    previous = ids;
  }

  async function search() {
    if (pending) pending.abort();
    pending = new AbortController();
    showStatus("Searching…", false);
    try {
      const response = await fetch("search", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(form()),
        signal: pending.signal,
      });
      const html = await response.text();
      if (!response.ok) {
        const box = document.createElement("div");
        box.innerHTML = html; // server-rendered, escaped
        showStatus(box.textContent.trim() || `The search did not work (${response.status}); please try again.`, true);
        return;
      }
      $("results").innerHTML = html; // server-rendered, escaped
      followServerWeight();
      markMoves();
      const found = document.querySelectorAll("#cards .card").length;
      showStatus(found === 1 ? "1 product" : `${found} products`, false);
    } catch (err) {
      if (err.name !== "AbortError") showStatus(`The search did not reach the server (${err.message}).`, true);
    }
  }

  $("photo").addEventListener("change", async (e) => {
    if (e.target.files.length) await choose(e.target.files[0]);
  });
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", async (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    if (e.dataTransfer.files.length) await choose(e.dataTransfer.files[0]);
  });
  $("clear-reference").addEventListener("click", () => {
    photo = null;
    $("photo").value = "";
    $("product").value = "";
    $("preview").hidden = true;
    $("drop-text").textContent = "Drop a photo here, or choose one";
  });
  $("query").addEventListener("submit", (e) => { e.preventDefault(); previous = []; search(); });
  ["remove-background", "caption", "default-weight", "fusion-method", "direction-gain"].forEach((id) =>
    $(id).addEventListener("change", search));
  $("image-weight").addEventListener("input", () => {
    $("image-weight-value").textContent = Number($("image-weight").value).toFixed(2);
  });
  $("image-weight").addEventListener("change", () => { $("default-weight").checked = false; search(); });
  $("results").addEventListener("click", (e) => {
    const button = e.target.closest(".use-reference");
    if (!button) return;
    useProduct(button.dataset.productId);
    window.scrollTo(0, 0);
  });
  $("examples").addEventListener("click", (e) => {
    const button = e.target.closest(".example");
    if (button) useExample(button);
  });
  const dupButton = $("find-duplicates");
  if (dupButton) {
    dupButton.addEventListener("click", async () => {
      const threshold = encodeURIComponent($("dup-threshold").value);
      $("duplicates").textContent = "Looking for near-duplicates…";
      const response = await fetch(`duplicates?threshold=${threshold}`);
      $("duplicates").innerHTML = await response.text(); // server-rendered, escaped
    });
  }
})();
