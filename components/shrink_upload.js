() => {
  // Inpaint's gr.ImageEditor sends its canvas to the server as PNGs (background and composite) at the picture's
  // full size: 33 MB each for a 12-megapixel phone photo, over the app's 10 MB upload limit, and the run then
  // failed without a word (HTTP 413 in the console). The model works on a 256 px square, so an image chosen
  // dropped or pasted into the editor is shrunk here, in the browser, to at most MAX_SIDE px on its longer side
  // (PNG, transparency kept) before the editor reads it. Smaller images pass through untouched. A file the
  // browser cannot decode (or an SVG) never reaches the editor, which would show a blank white canvas (Inpaint
  // then repainted that): the editor keeps its picture, and the hidden UNREADABLE button's event says why. (Not
  // for a paste: the clipboard's images come from the browser or the system, already decodable.)
  //
  // An image the user chose, dropped or pasted also clicks the hidden CHOSEN button, whose event clears the
  // uploaded mask (it belonged to the previous picture). The editor's own upload event cannot tell: it also fires
  // when an example or a send sets the editor's value, and an example brings its own mask.
  const MAX_SIDE = 1024;
  const EDITORS = "#inpaint-image";
  const CHOSEN = "#inpaint-image-chosen";
  const UNREADABLE = "#inpaint-image-unreadable";
  // The other image uploads (Variations, Zoom out, the explorer's, Inpaint's mask): a file over the app's 10 MB
  // upload limit was refused by Gradio with a toast naming no field, and the picture already there was removed.
  // Those models see 256 px too, so such a file (chosen, dropped or pasted) is shrunk the same way; smaller files,
  // and files the browser cannot open, go as they are (the server says what is wrong with them). One over the
  // limit that the browser cannot open (a TIFF: no shrinking it) is not sent: the picture there stays, and the
  // hidden REFUSED box and button tell the server, whose error names the field (`common.refuse_upload`). One over
  // the limit that needs no downscaling (a big animated GIF) is re-encoded as a PNG of its first frame.
  const IMAGES = "#vary-image, #zoom-image, #explorer-diff-image, #explorer-files, #inpaint-mask";
  const REFUSED = "#upload-refused";
  const REFUSED_BUTTON = "#upload-refused-btn";
  const LIMIT_BYTES = 10 * 1024 * 1024; // app.launch's max_file_size
  const ours = new WeakSet(); // the events dispatched here, let through

  class Unreadable extends Error {}

  // `force`: re-encode one that needs no downscaling too (a 600 px animated GIF of 15 MB -> its first frame)
  async function shrink(file, force = false) {
    if (!(file instanceof File)) return null;
    if (file.type === "image/svg+xml") throw new Unreadable(file.name); // the editor shows it as a blank canvas
    let bitmap;
    try {
      bitmap = await createImageBitmap(file); // the first frame; EXIF orientation applied
    } catch (error) {
      throw new Unreadable(file.name);
    }
    const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
    if (scale === 1 && !force) {
      bitmap.close();
      return null;
    }
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    const context = canvas.getContext("2d");
    context.imageSmoothingQuality = "high";
    context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
    if (!blob) return null;
    return new File([blob], file.name.replace(/\.[^./]*$/, "") + ".png", { type: "image/png" });
  }

  // The files to send, shrunk where needed. For the editor: all of them, and null when one is no image the
  // browser can open. For one of IMAGES (`overLimitOnly`): those over the limit, and a file the browser cannot
  // open goes as it is (the upload limit or the server then says what is wrong with it).
  async function shrunk(files, overLimitOnly = false) {
    const out = new DataTransfer();
    for (const file of files) {
      let small = null;
      if (!overLimitOnly || file.size > LIMIT_BYTES) {
        try {
          small = await shrink(file, overLimitOnly);
        } catch (error) {
          if (error instanceof Unreadable && !overLimitOnly) return null;
          if (!(error instanceof Unreadable)) console.warn("unCLIP Studio: could not shrink the image", error);
        }
      }
      out.items.add(small || file);
    }
    return out;
  }

  function overLimit(files) {
    return [...files].some((file) => file.size > LIMIT_BYTES);
  }

  function inImages(element) {
    return element instanceof Element && element.closest(IMAGES) !== null;
  }

  // The files to send: those within the limit once shrunk. The others (ones the browser cannot open) are said by
  // the server, naming the field; the rest of a multi-file choice still goes.
  function withinLimit(element, files) {
    const big = [...files].filter((file) => file.size > LIMIT_BYTES);
    const kept = new DataTransfer();
    for (const file of files) if (file.size <= LIMIT_BYTES) kept.items.add(file);
    const box = document.querySelector(`${REFUSED} textarea, ${REFUSED} input`);
    const button = document.querySelector(REFUSED_BUTTON);
    if (big.length > 0 && box && button) {
      box.value = JSON.stringify({ field: element.closest(IMAGES).id, name: big[0].name, bytes: big[0].size,
                                   more: big.length - 1, sent: kept.files.length });
      box.dispatchEvent(new Event("input", { bubbles: true }));
      setTimeout(() => button.click(), 0); // after the box's value has reached the app
    }
    return kept;
  }

  function unreadable() {
    document.querySelector(UNREADABLE)?.click();
  }

  function inEditor(element) {
    return element instanceof Element && element.closest(EDITORS) !== null;
  }

  function chosen() {
    document.querySelector(CHOSEN)?.click();
  }

  // an image pasted with the Paste button of the editor or of one of IMAGES, which reads navigator.clipboard: the
  // reads that follow a click in one of them are wrapped (any other reader on the page gets the clipboard as it is)
  let clicked = { at: 0, editor: false };
  document.addEventListener("click", (event) => {
    if (inEditor(event.target) || inImages(event.target)) clicked = { at: Date.now(), editor: inEditor(event.target) };
  }, true);
  const clipboard = navigator.clipboard;
  if (clipboard && typeof clipboard.read === "function") {
    const read = clipboard.read.bind(clipboard);
    clipboard.read = async (...args) => {
      const items = await read(...args);
      if (Date.now() - clicked.at > 5000 || !items.some((item) => item.types.some((t) => t.startsWith("image/")))) {
        return items;
      }
      const editor = clicked.editor;
      if (editor) chosen();
      return items.map((item) => ({
        types: item.types,
        getType: async (type) => {
          const blob = await item.getType(type);
          if (!type.startsWith("image/")) return blob;
          const file = new File([blob], "clipboard." + type.replace("image/", ""), { type });
          return (await shrunk([file], !editor))?.files[0] || file;
        },
      }));
    };
  }

  // a file chosen with a file dialog
  document.addEventListener("change", async (event) => {
    const input = event.target;
    if (ours.has(event) || !(input instanceof HTMLInputElement) || input.type !== "file") return;
    if (!input.files || input.files.length === 0) return;
    if (inImages(input) && overLimit(input.files)) {
      event.stopImmediatePropagation();
      const files = withinLimit(input, (await shrunk(input.files, true)).files).files;
      if (files.length === 0) {
        input.value = "";
        return;
      }
      input.files = files;
      const again = new Event("change", { bubbles: true });
      ours.add(again);
      input.dispatchEvent(again);
      return;
    }
    if (!inEditor(input)) return;
    event.stopImmediatePropagation();
    const files = await shrunk(input.files);
    if (!files) {
      input.value = "";
      unreadable();
      return;
    }
    chosen();
    input.files = files.files;
    const again = new Event("change", { bubbles: true });
    ours.add(again);
    input.dispatchEvent(again);
  }, true);

  // a file dropped on the editor, or one over the limit on one of IMAGES
  document.addEventListener("drop", async (event) => {
    if (ours.has(event) || !event.dataTransfer || event.dataTransfer.files.length === 0) return;
    if (inImages(event.target) && overLimit(event.dataTransfer.files)) {
      event.preventDefault();
      event.stopImmediatePropagation();
      const files = withinLimit(event.target, (await shrunk(event.dataTransfer.files, true)).files);
      if (files.files.length === 0) return;
      const again = new DragEvent("drop", { bubbles: true, cancelable: true, dataTransfer: files });
      ours.add(again);
      event.target.dispatchEvent(again);
      return;
    }
    if (!inEditor(event.target)) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    const files = await shrunk(event.dataTransfer.files);
    if (!files) {
      unreadable();
      return;
    }
    chosen();
    const again = new DragEvent("drop", { bubbles: true, cancelable: true, dataTransfer: files });
    ours.add(again);
    event.target.dispatchEvent(again);
  }, true);
}
