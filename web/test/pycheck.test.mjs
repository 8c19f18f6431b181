import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { parser } from "@lezer/python";
import { loadTs } from "./load-ts.mjs";

const { checkPython } = await loadTs("editor/pycheck");
const check = (code) => checkPython(parser.parse(code), code);
const messages = (code) => check(code).map((d) => d.message);
const at = (code, d) => code.slice(d.from, d.to);

test("every Python program in content/ is clean: starters, references, wrong solutions", () => {
  const dir = new URL("../../content/tasks/", import.meta.url);
  let n = 0;
  for (const f of readdirSync(dir).filter((x) => x.endsWith(".json"))) {
    const t = JSON.parse(readFileSync(new URL(f, dir), "utf8"));
    const programs = [
      ...t.languages.map((l) => [l.language, l.starter_code, "starter"]),
      ...(t.reference_solutions ?? []).map((s) => [s.language, s.code, s.name]),
      ...(t.wrong_solutions ?? []).map((s) => [s.language, s.code, s.name]),
    ];
    if (t.checker?.custom?.language?.startsWith("python")) programs.push(["python3", t.checker.custom.source, "checker"]);
    for (const [lang, code, name] of programs) {
      if (!lang.startsWith("python") || !code) continue;
      assert.deepEqual(messages(code), [], `${f} ${name}`);
      n++;
    }
  }
  assert.ok(n > 50, `checked ${n} programs`);
});

test("scopes: parameters, comprehensions, imports, globals, classes, lambdas, with/except/match", () => {
  const ok = [
    "import sys, os.path as p\nfrom collections import (deque, Counter as C)\nprint(sys, p, deque, C)\n",
    "def f(a, *b, c=1, **d):\n    return a, b, c, d, f\n",
    "xs = [y * 2 for y in range(3) if y]\nd = {k: v for k, v in zip(xs, xs)}\ng = (a for a in xs)\n",
    "def f():\n    global total\n    total = 1\nf()\nprint(total)\n",
    "class A:\n    n = 1\n    def m(self):\n        return self.n, A, __class__\n",
    "f = lambda a, *b, k=1, **kw: (a, b, k, kw)\n",
    "try:\n    pass\nexcept (ValueError, KeyError) as e:\n    print(e)\nwith open('x') as fh:\n    fh.read()\n",
    "match [1, 2]:\n    case [a, *rest] if a:\n        print(a, rest)\n    case {'k': v} as whole:\n        print(v, whole)\n    case Point(x=px):\n        print(px)\n    case _:\n        pass\nclass Point: pass\n",
    "if (n := len('abc')) > 2:\n    print(n)\nprint(sum(x for x in [1]), max([1], key=len))\n",
    "def later():\n    return helper()\ndef helper():\n    return 1\n",
    "from math import *\nprint(sqrt(2))\n",
    "for i, (a, b) in enumerate([(1, 2)]):\n    print(i, a, b)\nelse:\n    print('done')\n",
    "a = b = 1\nx: int = 2\ny: int\nprint(a, b, x, y)\nq = [1]\nq[0] += 1\n",
    "@staticmethod\ndef f(): pass\nprint(f'{f!r:>10} {len(\"a\")}')\n",
    "s = '''one\n# not a comment (\n'''\nt = \"a\\\"b\" + 'it\\'s'\nprint(s, t)\n",
    "x = [\n    1,\n        2,\n]\nif x:\n    # a comment at another indent\n  \n    pass\n",
  ];
  for (const code of ok) assert.deepEqual(messages(code), [], code);
});

test("undefined names are flagged where they are read, with a suggestion", () => {
  const code = "total = 0\nfor i in range(3):\n    totl += i\nprint(undefined_thing)\n";
  const ds = check(code);
  assert.equal(ds.length, 2);
  assert.equal(at(code, ds[0]), "totl");
  assert.match(ds[0].message, /'totl' is not defined — did you mean 'total'\?/);
  assert.equal(at(code, ds[1]), "undefined_thing");
  assert.match(ds[1].message, /not defined/);
  // Class names are not visible inside methods.
  assert.match(messages("class A:\n    n = 1\n    def m(self):\n        return n\n")[0], /'n' is not defined/);
  // Keyword arguments are not reads; a misspelt builtin is.
  assert.deepEqual(messages("print(1, end='')\n"), []);
  assert.match(messages("prnt(1)\n")[0], /did you mean 'print'/);
  // A comprehension's variable does not leak.
  assert.match(messages("xs = [v for v in range(3)]\nprint(v)\n")[0], /'v' is not defined/);
});

test("syntax errors: only the first, in words a beginner can act on", () => {
  const cases = [
    ["if x > 1\n    print(x)\n", /Expected ':'/, "1"],
    ["for i in range(3)\n    print(i)\n", /Expected ':'/],
    ["def f():\nreturn 1\n", /Expected an indented block after line 1/],
    ["x = 1\n    y = 2\n", /Unexpected indent/],
    ["if True:\n        a = 1\n    b = 2\n", /matches no outer block/],
    ["a = [1, 2\nb = 3\n", /'\[' is never closed/, "["],
    ["print(\"hi)\n", /string is never closed/],
    ["x = (1, 2]\n", /closing bracket '\]' does not match the opening parenthesis '\('/],
    ["x = 1)\n", /has no opening one/],
    ["x = = 1\n", /invalid syntax/],
    ["if x = 1:\n    pass\n", /to compare, use '=='/],
    ["return 5\n", /'return' outside a function/],
    ["break\n", /'break' outside a loop/],
    ["while True:\n", /Expected an indented block/],
  ];
  for (const [code, re, text] of cases) {
    const ds = check(code);
    assert.equal(ds.length, 1, `${JSON.stringify(code)}: ${JSON.stringify(ds)}`);
    assert.match(ds[0].message, re, JSON.stringify(code));
    assert.ok(ds[0].to > ds[0].from && ds[0].to <= code.length, `${JSON.stringify(code)} has a range`);
    if (text) assert.equal(at(code, ds[0]), text);
  }
});
