import assert from "node:assert/strict";
import { test } from "node:test";
import { loadTs } from "./load-ts.mjs";

const { catalogueOf, editorMode, languageLabel, languageName } = await loadTs("languages");
const cat = catalogueOf([
  { id: "c", display_name: "C", file_extension: "c", editor_mode: "c", version: "gcc 12.2.0 (GNU C17)", compiled: true },
  { id: "python3", display_name: "Python 3", file_extension: "py", editor_mode: "python", version: "CPython 3.11.2", compiled: false },
]);

test("a language is shown by the catalogue's name and version, an unknown one by its id", () => {
  assert.equal(languageName(cat, "python3"), "Python 3");
  assert.equal(languageLabel(cat, "c"), "C (gcc 12.2.0 (GNU C17))");
  assert.equal(languageName(cat, "cobol"), "cobol");
  assert.equal(languageLabel(cat, "cobol"), "cobol");
});

test("the editor mode comes from the catalogue, else the id", () => {
  assert.equal(editorMode(cat, "python3"), "python");
  assert.equal(editorMode(cat, "c"), "c");
  assert.equal(editorMode(cat, "rust"), "rust");
  assert.equal(editorMode(catalogueOf([]), "python3"), "python3");
});
