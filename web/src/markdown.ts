// A small, safe CommonMark subset for task statements and hints.
//
// parseMarkdown() turns text into a tree of plain objects (no DOM, so it is
// unit-tested in Node); renderMarkdown() builds DOM nodes from that tree with
// createElement / createTextNode only. Raw HTML is never interpreted: a
// "<script>" in a statement is shown as the text "<script>". Links keep only
// http(s), mailto and same-site targets; images become links (no remote loads).
//
// Supported: ATX headings, paragraphs, fenced and indented code, block quotes,
// bullet and ordered lists (nested by indentation), thematic breaks, GFM tables,
// emphasis, strong, inline code, links, autolinks, images (as links),
// backslash escapes, hard line breaks, strikethrough.

export type Inline =
  | { t: "text"; v: string }
  | { t: "code"; v: string }
  | { t: "em" | "strong" | "del"; c: Inline[] }
  | { t: "link"; href: string; c: Inline[] }
  | { t: "br" };

export type Block =
  | { t: "h"; level: number; c: Inline[] }
  | { t: "p"; c: Inline[] }
  | { t: "pre"; lang: string; v: string }
  | { t: "quote"; c: Block[] }
  | { t: "list"; ordered: boolean; start: number; items: Block[][] }
  | { t: "hr" }
  | { t: "table"; align: string[]; head: Inline[][]; rows: Inline[][][] };

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)[^`]*$/;
const HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const HR = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const BULLET = /^( {0,3})([-*+])([ \t]+|$)(.*)$/;
const ORDERED = /^( {0,3})(\d{1,9})([.)])([ \t]+|$)(.*)$/;
const QUOTE = /^ {0,3}> ?(.*)$/;
const TABLE_SEP = /^ *\|? *:?-+:? *(\| *:?-+:? *)*\|? *$/;

function isBlank(s: string): boolean {
  return /^\s*$/.test(s);
}

function startsBlock(line: string): boolean {
  return (
    FENCE.test(line) || HEADING.test(line) || HR.test(line) || QUOTE.test(line) ||
    (BULLET.test(line) && !isBlank(BULLET.exec(line)![4])) ||
    (ORDERED.test(line) && ORDERED.exec(line)![2] === "1" && !isBlank(ORDERED.exec(line)![5]))
  );
}

function splitRow(line: string): string[] {
  let s = line.trim();
  if (s.startsWith("|")) s = s.slice(1);
  if (s.endsWith("|") && !s.endsWith("\\|")) s = s.slice(0, -1);
  const cells: string[] = [];
  let cur = "";
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "\\" && s[i + 1] === "|") { cur += "|"; i++; continue; }
    if (s[i] === "|") { cells.push(cur.trim()); cur = ""; continue; }
    cur += s[i];
  }
  cells.push(cur.trim());
  return cells;
}

export function parseMarkdown(src: string): Block[] {
  const lines = src.replace(/\r\n?/g, "\n").replace(/\t/g, "    ").split("\n");
  return parseBlocks(lines);
}

function parseBlocks(lines: string[]): Block[] {
  const out: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (isBlank(line)) { i++; continue; }

    let m = FENCE.exec(line);
    if (m) {
      const fence = m[1];
      const indent = line.length - line.trimStart().length;
      const body: string[] = [];
      i++;
      while (i < lines.length) {
        const l = lines[i];
        const close = new RegExp(`^ {0,3}${fence[0] === "`" ? "`" : "~"}{${fence.length},}\\s*$`);
        if (close.test(l)) { i++; break; }
        body.push(l.replace(new RegExp(`^ {0,${indent}}`), ""));
        i++;
      }
      out.push({ t: "pre", lang: m[2] || "", v: body.join("\n") });
      continue;
    }
    m = HEADING.exec(line);
    if (m) {
      out.push({ t: "h", level: m[1].length, c: parseInline(m[2] ?? "") });
      i++;
      continue;
    }
    if (HR.test(line)) { out.push({ t: "hr" }); i++; continue; }
    if (/^ {4}/.test(line)) {
      const body: string[] = [];
      while (i < lines.length && (/^ {4}/.test(lines[i]) || isBlank(lines[i]))) {
        body.push(lines[i].slice(4));
        i++;
      }
      while (body.length && isBlank(body[body.length - 1])) body.pop();
      out.push({ t: "pre", lang: "", v: body.join("\n") });
      continue;
    }
    if (QUOTE.test(line)) {
      const body: string[] = [];
      while (i < lines.length && !isBlank(lines[i])) {
        const q = QUOTE.exec(lines[i]);
        body.push(q ? q[1] : lines[i]);
        i++;
      }
      out.push({ t: "quote", c: parseBlocks(body) });
      continue;
    }
    const bm = BULLET.exec(line);
    const om = ORDERED.exec(line);
    if (bm || om) {
      const ordered = !bm;
      const marker = bm ? bm[2] : om![3];
      const items: Block[][] = [];
      let start = om ? parseInt(om[2], 10) : 1;
      if (!Number.isFinite(start)) start = 1;
      while (i < lines.length) {
        const b = BULLET.exec(lines[i]);
        const o = ORDERED.exec(lines[i]);
        const mm = ordered ? o : b;
        if (!mm || (ordered ? o![3] : b![2]) !== marker) break;
        const indent = ordered
          ? o![1].length + o![2].length + 1 + Math.min(Math.max(o![4].length, 1), 4)
          : b![1].length + 1 + Math.min(Math.max(b![3].length, 1), 4);
        const body: string[] = [ordered ? o![5] : b![4]];
        i++;
        let sawBlank = false;
        while (i < lines.length) {
          const l = lines[i];
          if (isBlank(l)) { body.push(""); sawBlank = true; i++; continue; }
          const lead = l.length - l.trimStart().length;
          if (lead >= indent) { body.push(l.slice(indent)); sawBlank = false; i++; continue; }
          if (sawBlank) break;
          if (BULLET.test(l) || ORDERED.test(l) || startsBlock(l)) break;
          body.push(l.trimStart()); // lazy continuation
          i++;
        }
        while (body.length && isBlank(body[body.length - 1])) body.pop();
        items.push(parseBlocks(body));
        // A blank line between items keeps the list going.
        let j = i;
        while (j < lines.length && isBlank(lines[j])) j++;
        const nb = BULLET.exec(lines[j] ?? "");
        const no = ORDERED.exec(lines[j] ?? "");
        if (j > i && ((ordered && no && no[3] === marker) || (!ordered && nb && nb[2] === marker))) i = j;
      }
      out.push({ t: "list", ordered, start, items });
      continue;
    }
    if (line.includes("|") && i + 1 < lines.length && TABLE_SEP.test(lines[i + 1]) && lines[i + 1].includes("-")) {
      const head = splitRow(line);
      const align = splitRow(lines[i + 1]).map((c) =>
        c.startsWith(":") && c.endsWith(":") ? "center" : c.endsWith(":") ? "right" : c.startsWith(":") ? "left" : "",
      );
      if (align.length === head.length) {
        i += 2;
        const rows: Inline[][][] = [];
        while (i < lines.length && !isBlank(lines[i]) && lines[i].includes("|")) {
          const cells = splitRow(lines[i]);
          rows.push(head.map((_, k) => parseInline(cells[k] ?? "")));
          i++;
        }
        out.push({ t: "table", align, head: head.map((c) => parseInline(c)), rows });
        continue;
      }
    }
    // Paragraph: up to a blank line or the start of another block.
    const para: string[] = [line.trim()];
    i++;
    while (i < lines.length && !isBlank(lines[i]) && !startsBlock(lines[i])) {
      // Setext headings.
      if (/^ {0,3}=+\s*$/.test(lines[i]) || (/^ {0,3}-+\s*$/.test(lines[i]) && para.length)) {
        const level = lines[i].trim()[0] === "=" ? 1 : 2;
        out.push({ t: "h", level, c: parseInline(para.join("\n")) });
        para.length = 0;
        i++;
        break;
      }
      para.push(lines[i].replace(/^ +/, ""));
      i++;
    }
    if (para.length) out.push({ t: "p", c: parseInline(para.join("\n")) });
  }
  return out;
}

const ESCAPABLE = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/;

/** Keeps a link target only if it cannot run script or leave via odd schemes. */
export function safeHref(raw: string): string | null {
  const href = raw.trim();
  if (/^(https?:|mailto:)/i.test(href)) return href;
  if (/^[a-z][a-z0-9+.-]*:/i.test(href)) return null; // javascript:, data:, vbscript:, ...
  if (/^\/\//.test(href)) return null; // protocol-relative
  if (/[\u0000-\u001f]/.test(href)) return null;
  return href; // relative, #anchor, /path
}

function isWordChar(c: string | undefined): boolean {
  return !!c && /[\p{L}\p{N}]/u.test(c);
}

export function parseInline(src: string): Inline[] {
  const out: Inline[] = [];
  let text = "";
  const flush = () => {
    if (text) { out.push({ t: "text", v: text }); text = ""; }
  };
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === "\\" && i + 1 < src.length) {
      if (src[i + 1] === "\n") { flush(); out.push({ t: "br" }); i += 2; continue; }
      if (ESCAPABLE.test(src[i + 1])) { text += src[i + 1]; i += 2; continue; }
    }
    if (c === "\n") {
      if (/ {2,}$/.test(text)) { text = text.replace(/ +$/, ""); flush(); out.push({ t: "br" }); }
      else text = text.replace(/ +$/, "") + "\n";
      i++;
      while (src[i] === " ") i++;
      continue;
    }
    if (c === "`") {
      let n = 0;
      while (src[i + n] === "`") n++;
      const ticks = "`".repeat(n);
      let j = src.indexOf(ticks, i + n);
      while (j >= 0 && src[j + n] === "`") {
        let k = j;
        while (src[k] === "`") k++;
        j = src.indexOf(ticks, k);
      }
      if (j >= 0) {
        flush();
        let code = src.slice(i + n, j).replace(/\n/g, " ");
        if (/^ .*[^ ].* $/.test(code)) code = code.slice(1, -1);
        out.push({ t: "code", v: code });
        i = j + n;
        continue;
      }
      text += ticks;
      i += n;
      continue;
    }
    if (c === "<") {
      const m = /^<((?:https?:\/\/|mailto:)[^\s<>]+)>/i.exec(src.slice(i));
      if (m) {
        flush();
        out.push({ t: "link", href: m[1], c: [{ t: "text", v: m[1].replace(/^mailto:/i, "") }] });
        i += m[0].length;
        continue;
      }
    }
    if (c === "[" || (c === "!" && src[i + 1] === "[")) {
      const img = c === "!";
      const open = i + (img ? 1 : 0);
      const close = findClosing(src, open);
      if (close > 0 && src[close + 1] === "(") {
        const m = /^\(\s*(<[^>]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)(?:\s+("[^"]*"|'[^']*'))?\s*\)/.exec(src.slice(close + 1));
        if (m) {
          flush();
          const target = m[1].replace(/^<|>$/g, "");
          const label = src.slice(open + 1, close);
          const href = safeHref(target);
          const children = img ? [{ t: "text" as const, v: label || target }] : parseInline(label);
          if (href !== null) out.push({ t: "link", href, c: children });
          else out.push(...children);
          i = close + 1 + m[0].length;
          continue;
        }
      }
    }
    if (c === "*" || c === "_" || (c === "~" && src[i + 1] === "~")) {
      let n = 0;
      while (src[i + n] === c) n++;
      const before = src[i - 1];
      const after = src[i + n];
      const leftFlanking = after !== undefined && !/\s/.test(after);
      const intraword = c === "_" && isWordChar(before);
      if (leftFlanking && !intraword) {
        const use = c === "~" ? 2 : n >= 2 ? 2 : 1;
        const delim = c.repeat(use);
        const end = findDelim(src, i + use, delim, c);
        if (end > 0) {
          flush();
          const inner = parseInline(src.slice(i + use, end));
          out.push({ t: c === "~" ? "del" : use === 2 ? "strong" : "em", c: inner });
          i = end + use;
          continue;
        }
      }
      text += src.slice(i, i + n);
      i += n;
      continue;
    }
    text += c;
    i++;
  }
  flush();
  return out;
}

function findClosing(src: string, open: number): number {
  let depth = 0;
  for (let i = open; i < src.length; i++) {
    if (src[i] === "\\") { i++; continue; }
    if (src[i] === "`") {
      const j = src.indexOf("`", i + 1);
      if (j > 0) { i = j; continue; }
    }
    if (src[i] === "[") depth++;
    else if (src[i] === "]" && --depth === 0) return i;
  }
  return -1;
}

function findDelim(src: string, from: number, delim: string, ch: string): number {
  for (let j = from; j < src.length; j++) {
    if (src[j] === "\\") { j++; continue; }
    if (src[j] === "`") {
      const k = src.indexOf("`", j + 1);
      if (k > 0) { j = k; continue; }
    }
    if (src.startsWith(delim, j) && j > from && !/\s/.test(src[j - 1])) {
      const after = src[j + delim.length];
      if (ch === "_" && isWordChar(after)) continue;
      // A single delimiter must not be half of a longer run (e.g. "*a **b** c*").
      if (delim.length === 1 && src[j + 1] === ch) { j += 1; continue; }
      return j;
    }
  }
  return -1;
}

// ---------------------------------------------------------------------------
// DOM rendering
// ---------------------------------------------------------------------------

function renderInline(nodes: Inline[], parent: Node): void {
  for (const n of nodes) {
    switch (n.t) {
      case "text": parent.appendChild(document.createTextNode(n.v)); break;
      case "code": {
        const el = document.createElement("code");
        el.textContent = n.v;
        parent.appendChild(el);
        break;
      }
      case "br": parent.appendChild(document.createElement("br")); break;
      case "em": case "strong": case "del": {
        const el = document.createElement(n.t);
        renderInline(n.c, el);
        parent.appendChild(el);
        break;
      }
      case "link": {
        const a = document.createElement("a");
        a.setAttribute("href", n.href);
        if (/^https?:/i.test(n.href)) {
          a.setAttribute("rel", "noopener noreferrer nofollow");
          a.setAttribute("target", "_blank");
        }
        renderInline(n.c, a);
        parent.appendChild(a);
        break;
      }
    }
  }
}

/** The smallest heading level among blocks (and their quotes), 0 when there is none. */
function topLevel(blocks: Block[]): number {
  let min = 0;
  for (const b of blocks) {
    const l = b.t === "h" ? b.level : b.t === "quote" ? topLevel(b.c) : 0;
    if (l && (!min || l < min)) min = l;
  }
  return min;
}

function renderBlocks(blocks: Block[], parent: Node, tight = false, shift = 0): void {
  for (const b of blocks) {
    switch (b.t) {
      case "h": {
        // Statement headings sit under the page's h1: the text's top level becomes h2, the rest keep their steps.
        const el = document.createElement(`h${Math.min(Math.max(b.level + shift, 2), 6)}`);
        renderInline(b.c, el);
        parent.appendChild(el);
        break;
      }
      case "p": {
        if (tight) { renderInline(b.c, parent); break; }
        const el = document.createElement("p");
        renderInline(b.c, el);
        parent.appendChild(el);
        break;
      }
      case "pre": {
        const pre = document.createElement("pre");
        pre.tabIndex = 0; // a long line scrolls sideways: the box must be reachable by keyboard
        const code = document.createElement("code");
        if (/^[\w+-]+$/.test(b.lang)) code.className = `language-${b.lang}`;
        code.textContent = b.v;
        pre.appendChild(code);
        parent.appendChild(pre);
        break;
      }
      case "quote": {
        const el = document.createElement("blockquote");
        renderBlocks(b.c, el, false, shift);
        parent.appendChild(el);
        break;
      }
      case "hr": parent.appendChild(document.createElement("hr")); break;
      case "list": {
        const el = document.createElement(b.ordered ? "ol" : "ul");
        if (b.ordered && b.start !== 1) el.setAttribute("start", String(b.start));
        for (const item of b.items) {
          const li = document.createElement("li");
          renderBlocks(item, li, item.length === 1 && item[0].t === "p", shift);
          el.appendChild(li);
        }
        parent.appendChild(el);
        break;
      }
      case "table": {
        const wrap = document.createElement("div");
        wrap.className = "table-wrap";
        const table = document.createElement("table");
        const thead = table.createTHead().insertRow();
        b.head.forEach((cell, k) => {
          const th = document.createElement("th");
          if (b.align[k]) th.className = `align-${b.align[k]}`;
          renderInline(cell, th);
          thead.appendChild(th);
        });
        const tbody = table.createTBody();
        for (const row of b.rows) {
          const tr = tbody.insertRow();
          row.forEach((cell, k) => {
            const td = tr.insertCell();
            if (b.align[k]) td.className = `align-${b.align[k]}`;
            renderInline(cell, td);
          });
        }
        wrap.appendChild(table);
        parent.appendChild(wrap);
        break;
      }
    }
  }
}

/** Renders Markdown into a fresh element with class "markdown". */
export function renderMarkdown(src: string): HTMLElement {
  const root = document.createElement("div");
  root.className = "markdown";
  const blocks = parseMarkdown(src ?? "");
  const top = topLevel(blocks);
  renderBlocks(blocks, root, false, top ? 2 - top : 0);
  return root;
}
