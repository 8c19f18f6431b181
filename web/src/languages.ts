// The language catalogue as the gateway serves it (GET /api/v1/languages, from
// services/executor/languages/*.json, the one place a language is defined):
// names, editor modes and versions shown to learners. DOM-free: unit-tested
// in Node.

import type { Language } from "./api";

export type Catalogue = Map<string, Language>;

/** The catalogue keyed by language id. */
export function catalogueOf(list: readonly Language[]): Catalogue {
  return new Map(list.map((l) => [l.id, l]));
}

/** What learners see for language `id`: its display name, else the id itself. */
export function languageName(cat: Catalogue, id: string): string {
  return cat.get(id)?.display_name || id;
}

/** The name with the version, e.g. "C (gcc 12.2.0 (GNU C17))"; the id alone when unknown. */
export function languageLabel(cat: Catalogue, id: string): string {
  const l = cat.get(id);
  return l ? (l.version ? `${l.display_name} (${l.version})` : l.display_name) : id;
}

/** The editor mode (CodeMirror) for language `id`; the id when unknown. */
export function editorMode(cat: Catalogue, id: string): string {
  return cat.get(id)?.editor_mode || id;
}
