#!/usr/bin/env node
// gen_expected.js -- reference outcome distributions for qshm's OpenQASM tests.
//
// Computes, with the independent simulator `quantum-circuit@0.9.250` (npm, MIT),
// the exact distribution of the measured classical outcomes of every corpus
// circuit with at most 15 qubits, and writes tests/qasm/expected/<stem>.txt.
// Every result is cross-checked against a small state-vector simulator in
// this file (own gate matrices, see OWN_* below); a disagreement > 1e-9 is an
// error and no file is written.
//
// Usage (Node.js 20, no dependency other than quantum-circuit):
//   mkdir -p /tmp/qc && (cd /tmp/qc && npm install quantum-circuit@0.9.250)
//   node tests/qasm/gen_expected.js --module-dir /tmp/qc
// or QC_MODULE_DIR=/tmp/qc node tests/qasm/gen_expected.js
// Options:
//   --module-dir DIR  directory holding node_modules/quantum-circuit (or the
//                     package directory itself); default $QC_MODULE_DIR, then
//                     normal require() resolution.
//   --out DIR         output directory (default: expected/ next to this file)
//   --max-qubits N    largest circuit simulated (default 15)
//   --timeout S       per-circuit limit in seconds (default 60)
//   --only STEM[,..]  only these circuits
//   --no-crosscheck   skip the comparison with the built-in simulator
//   FILE.qasm ...     explicit circuit files instead of small/ and medium/
//
// Output format: '#' comment lines (source, qubits, clbits, method, generator),
// then one `<outcome>\t<probability>` line per outcome with probability > 1e-12,
// sorted by outcome, probability with 17 significant digits. Outcome strings
// follow Qiskit: registers last-declared first, separated by one space, each
// register written c[n-1]...c[0]; bits never written are 0.
'use strict';

const fs = require('fs');
const path = require('path');
const child_process = require('child_process');

const GENERATOR_VERSION = 'gen_expected.js 1.0';
const PKG_VERSION = '0.9.250';
const PROB_THRESHOLD = 1e-12;
const BRANCH_DROP = 1e-20;      // branches lighter than this are discarded
const CROSSCHECK_TOL = 1e-9;

// ---------------------------------------------------------------------------
// Current qelib1.inc (Qiskit's extended library). qshm resolves
// `include "qelib1.inc"` to these semantics; so do we. It is used (a) as the
// list of gates that `include "qelib1.inc"` defines, (b) as macro definitions
// for the gates quantum-circuit lacks or gets wrong, (c) by check_gen.js to
// verify this file's own gate matrices.
// ---------------------------------------------------------------------------
const QELIB1_CURRENT = `
gate u3(theta,phi,lambda) q { U(theta,phi,lambda) q; }
gate u2(phi,lambda) q { U(pi/2,phi,lambda) q; }
gate u1(lambda) q { U(0,0,lambda) q; }
gate cx c,t { CX c,t; }
gate id a { U(0,0,0) a; }
gate u0(gamma) q { U(0,0,0) q; }
gate u(theta,phi,lambda) q { U(theta,phi,lambda) q; }
gate p(lambda) q { U(0,0,lambda) q; }
gate x a { u3(pi,0,pi) a; }
gate y a { u3(pi,pi/2,pi/2) a; }
gate z a { u1(pi) a; }
gate h a { u2(0,pi) a; }
gate s a { u1(pi/2) a; }
gate sdg a { u1(-pi/2) a; }
gate t a { u1(pi/4) a; }
gate tdg a { u1(-pi/4) a; }
gate rx(theta) a { u3(theta, -pi/2,pi/2) a; }
gate ry(theta) a { u3(theta,0,0) a; }
gate rz(phi) a { u1(phi) a; }
gate sx a { sdg a; h a; sdg a; }
gate sxdg a { s a; h a; s a; }
gate cz a,b { h b; cx a,b; h b; }
gate cy a,b { sdg b; cx a,b; s b; }
gate swap a,b { cx a,b; cx b,a; cx a,b; }
gate ch a,b { h b; sdg b; cx a,b; h b; t b; cx a,b; t b; h b; s b; x b; s a; }
gate ccx a,b,c
{
  h c; cx b,c; tdg c; cx a,c; t c; cx b,c; tdg c; cx a,c; t b; t c; h c;
  cx a,b; t a; tdg b; cx a,b;
}
gate cswap a,b,c { cx c,b; ccx a,b,c; cx c,b; }
gate crx(lambda) a,b
{ u1(pi/2) b; cx a,b; u3(-lambda/2,0,0) b; cx a,b; u3(lambda/2,-pi/2,0) b; }
gate cry(lambda) a,b { ry(lambda/2) b; cx a,b; ry(-lambda/2) b; cx a,b; }
gate crz(lambda) a,b { rz(lambda/2) b; cx a,b; rz(-lambda/2) b; cx a,b; }
gate cu1(lambda) a,b
{ u1(lambda/2) a; cx a,b; u1(-lambda/2) b; cx a,b; u1(lambda/2) b; }
gate cp(lambda) a,b
{ p(lambda/2) a; cx a,b; p(-lambda/2) b; cx a,b; p(lambda/2) b; }
gate cu3(theta,phi,lambda) c, t
{
  u1((lambda+phi)/2) c; u1((lambda-phi)/2) t; cx c,t;
  u3(-theta/2,0,-(phi+lambda)/2) t; cx c,t; u3(theta/2,phi,0) t;
}
gate csx a,b { h b; cu1(pi/2) a,b; h b; }
gate cu(theta,phi,lambda,gamma) c, t
{
  p(gamma) c; p((lambda+phi)/2) c; p((lambda-phi)/2) t; cx c,t;
  u(-theta/2,0,-(phi+lambda)/2) t; cx c,t; u(theta/2,phi,0) t;
}
gate rxx(theta) a,b
{ u3(pi/2, theta, 0) a; h b; cx a,b; u1(-theta) b; cx a,b; h b; u2(-pi, pi-theta) a; }
gate rzz(theta) a,b { cx a,b; u1(theta) b; cx a,b; }
gate rccx a,b,c
{
  u2(0,pi) c; u1(pi/4) c; cx b, c; u1(-pi/4) c; cx a, c; u1(pi/4) c;
  cx b, c; u1(-pi/4) c; u2(0,pi) c;
}
gate rc3x a,b,c,d
{
  u2(0,pi) d; u1(pi/4) d; cx c,d; u1(-pi/4) d; u2(0,pi) d; cx a,d;
  u1(pi/4) d; cx b,d; u1(-pi/4) d; cx a,d; u1(pi/4) d; cx b,d;
  u1(-pi/4) d; u2(0,pi) d; u1(pi/4) d; cx c,d; u1(-pi/4) d; u2(0,pi) d;
}
gate c3x a,b,c,d
{
  h d; p(pi/8) a; p(pi/8) b; p(pi/8) c; p(pi/8) d;
  cx a, b; p(-pi/8) b; cx a, b; cx b, c; p(-pi/8) c; cx a, c; p(pi/8) c;
  cx b, c; p(-pi/8) c; cx a, c; cx c, d; p(-pi/8) d; cx b, d; p(pi/8) d;
  cx c, d; p(-pi/8) d; cx a, d; p(pi/8) d; cx c, d; p(-pi/8) d; cx b, d;
  p(pi/8) d; cx c, d; p(-pi/8) d; cx a, d; h d;
}
gate c3sqrtx a,b,c,d
{
  h d; cu1(pi/8) a,d; h d; cx a,b; h d; cu1(-pi/8) b,d; h d; cx a,b;
  h d; cu1(pi/8) b,d; h d; cx b,c; h d; cu1(-pi/8) c,d; h d; cx a,c;
  h d; cu1(pi/8) c,d; h d; cx b,c; h d; cu1(-pi/8) c,d; h d; cx a,c;
  h d; cu1(pi/8) c,d; h d;
}
gate c4x a,b,c,d,e
{
  h e; cu1(pi/2) d,e; h e; c3x a,b,c,d; h e; cu1(-pi/2) d,e; h e;
  c3x a,b,c,d; c3sqrtx a,b,c,e;
}
`;

// Gates quantum-circuit 0.9.250 applies correctly (the README's list, plus the
// ones check_gen.js verifies: id x y z h s sdg t tdg rx ry rz). They are passed
// to it by name; every other gate is expanded (from QELIB1_CURRENT or from the
// circuit's own `gate` definitions) before it sees the program.
const PKG_NATIVE = new Set([
  'u3', 'u2', 'u1', 'u', 'p', 'cx', 'cz', 'cy', 'ch', 'ccx', 'crz', 'crx', 'cry',
  'cu1', 'cp', 'cu3', 'swap', 'cswap', 'sx', 'sxdg', 'rzz',
  'id', 'x', 'y', 'z', 'h', 's', 'sdg', 't', 'tdg', 'rx', 'ry', 'rz',
]);

// ---------------------------------------------------------------------------
// Lexer / parser for OpenQASM 2.0
// ---------------------------------------------------------------------------
class QasmError extends Error {
  constructor(msg, file, tok) {
    super(tok ? `${file}:${tok.line}:${tok.col}: ${msg}` : `${file}: ${msg}`);
    this.qasm = true;
  }
}

function lex(src, file) {
  const toks = [];
  let i = 0, line = 1, col = 1;
  const n = src.length;
  const reId = /[A-Za-z_][A-Za-z0-9_]*/y;
  const reNum = /(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?/y;
  const reStr = /"[^"\n]*"/y;
  const adv = (k) => {
    for (let j = 0; j < k; j++) {
      if (src[i] === '\n') { line++; col = 1; } else col++;
      i++;
    }
  };
  while (i < n) {
    const ch = src[i];
    if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n' || ch === '\f' || ch === '\v') { adv(1); continue; }
    if (ch === '/' && src[i + 1] === '/') { while (i < n && src[i] !== '\n') adv(1); continue; }
    if (ch === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2);
      if (end < 0) throw new QasmError('unterminated comment', file, { line, col });
      adv(end + 2 - i); continue;
    }
    const tok = { line, col };
    let m;
    reId.lastIndex = i;
    if ((m = reId.exec(src))) { tok.t = 'id'; tok.v = m[0]; toks.push(tok); adv(m[0].length); continue; }
    reNum.lastIndex = i;
    if ((m = reNum.exec(src))) { tok.t = 'num'; tok.v = m[0]; toks.push(tok); adv(m[0].length); continue; }
    reStr.lastIndex = i;
    if ((m = reStr.exec(src))) { tok.t = 'str'; tok.v = m[0].slice(1, -1); toks.push(tok); adv(m[0].length); continue; }
    const two = src.substr(i, 2);
    if (two === '->' || two === '==') { tok.t = 'sym'; tok.v = two; toks.push(tok); adv(2); continue; }
    if ('[](){},;+-*/^'.includes(ch)) { tok.t = 'sym'; tok.v = ch; toks.push(tok); adv(1); continue; }
    throw new QasmError(`unexpected character '${ch}'`, file, tok);
  }
  toks.push({ t: 'eof', v: '<eof>', line, col });
  return toks;
}

const FUNCS = new Set(['sin', 'cos', 'tan', 'exp', 'ln', 'sqrt']);

class Parser {
  constructor(src, file, opts) {
    this.file = file;
    this.toks = lex(src, file);
    this.pos = 0;
    this.opts = opts || {};
  }
  peek(k = 0) { return this.toks[this.pos + k]; }
  next() { return this.toks[this.pos++]; }
  err(msg, tok) { throw new QasmError(msg, this.file, tok || this.peek()); }
  is(v, k = 0) { const t = this.peek(k); return (t.t === 'sym' || t.t === 'id') && t.v === v; }
  expect(v) {
    const t = this.next();
    if (!((t.t === 'sym' || t.t === 'id') && t.v === v)) this.err(`expected '${v}', found '${t.v}'`, t);
    return t;
  }
  ident() {
    const t = this.next();
    if (t.t !== 'id') this.err(`expected identifier, found '${t.v}'`, t);
    return t;
  }
  int() {
    const t = this.next();
    if (t.t !== 'num' || !/^[0-9]+$/.test(t.v)) this.err(`expected integer, found '${t.v}'`, t);
    return { v: parseInt(t.v, 10), tok: t };
  }
  // expressions
  expr() {
    let a = this.term();
    while (this.is('+') || this.is('-')) {
      const op = this.next().v;
      a = { t: 'bin', op, a, b: this.term() };
    }
    return a;
  }
  term() {
    let a = this.unary();
    while (this.is('*') || this.is('/')) {
      const op = this.next().v;
      a = { t: 'bin', op, a, b: this.unary() };
    }
    return a;
  }
  unary() {
    if (this.is('-')) { this.next(); return { t: 'neg', a: this.unary() }; }
    if (this.is('+')) { this.next(); return this.unary(); }
    return this.power();
  }
  power() {
    const a = this.primary();
    if (this.is('^')) { this.next(); return { t: 'bin', op: '^', a, b: this.unary() }; }
    return a;
  }
  primary() {
    const t = this.next();
    if (t.t === 'num') return { t: 'num', v: parseFloat(t.v), text: t.v };
    if (t.t === 'id') {
      if (t.v === 'pi') return { t: 'pi' };
      if (FUNCS.has(t.v) && this.is('(')) {
        this.next(); const a = this.expr(); this.expect(')');
        return { t: 'call', fn: t.v, a };
      }
      return { t: 'id', name: t.v, tok: t };
    }
    if (t.t === 'sym' && t.v === '(') { const a = this.expr(); this.expect(')'); return a; }
    this.err(`unexpected '${t.v}' in expression`, t);
  }
  explist() {
    const out = [];
    if (this.is(')')) return out;
    out.push(this.expr());
    while (this.is(',')) { this.next(); out.push(this.expr()); }
    return out;
  }
  idlist() {
    const out = [this.ident()];
    while (this.is(',')) { this.next(); out.push(this.ident()); }
    return out;
  }
  argument() {
    const id = this.ident();
    if (this.is('[')) { this.next(); const k = this.int(); this.expect(']'); return { reg: id.v, idx: k.v, tok: id }; }
    return { reg: id.v, idx: null, tok: id };
  }
  arglist() {
    const out = [this.argument()];
    while (this.is(',')) { this.next(); out.push(this.argument()); }
    return out;
  }

  program() {
    const prog = { file: this.file, version: null, includes: [], qregs: [], cregs: [], gates: new Map(), stmts: [], nq: 0, nc: 0 };
    const first = this.peek();
    if (!(first.t === 'id' && first.v === 'OPENQASM')) this.err("missing 'OPENQASM 2.0;' header", first);
    this.next();
    const ver = this.next();
    if (ver.t !== 'num') this.err('expected version number', ver);
    if (!/^2(\.0)?$/.test(ver.v)) this.err(`unsupported OpenQASM version ${ver.v}`, ver);
    prog.version = ver.v;
    this.expect(';');
    while (this.peek().t !== 'eof') this.statement(prog, true);
    return prog;
  }

  statement(prog, top) {
    const t = this.peek();
    if (t.t !== 'id') this.err(`unexpected '${t.v}'`, t);
    switch (t.v) {
      case 'OPENQASM': this.err("'OPENQASM' must be the first statement", t); break;
      case 'include': {
        this.next(); const f = this.next();
        if (f.t !== 'str') this.err('expected file name string', f);
        this.expect(';');
        if (f.v !== 'qelib1.inc') this.err(`cannot include '${f.v}' (only qelib1.inc is built in)`, f);
        prog.includes.push(f.v);
        if (!prog.gates.has('u3')) {
          // built-in extended library
          const lib = getQelib1();
          for (const [k, g] of lib) {
            if (prog.gates.has(k)) this.err(`gate '${k}' defined before include "qelib1.inc" redefines it`, f);
            prog.gates.set(k, g);
          }
        }
        return;
      }
      case 'qreg': case 'creg': {
        this.next(); const id = this.ident(); this.expect('['); const size = this.int(); this.expect(']'); this.expect(';');
        if (size.v <= 0) this.err('register size must be positive', size.tok);
        if (prog.qregs.some(r => r.name === id.v) || prog.cregs.some(r => r.name === id.v)) this.err(`register '${id.v}' redeclared`, id);
        if (t.v === 'qreg') { prog.qregs.push({ name: id.v, size: size.v, offset: prog.nq }); prog.nq += size.v; }
        else { prog.cregs.push({ name: id.v, size: size.v, offset: prog.nc }); prog.nc += size.v; }
        return;
      }
      case 'gate': case 'opaque': {
        this.next(); const name = this.ident();
        let params = [];
        if (this.is('(')) { this.next(); if (!this.is(')')) params = this.idlist().map(x => x.v); this.expect(')'); }
        const args = this.idlist().map(x => x.v);
        if (prog.gates.has(name.v) || name.v === 'U' || name.v === 'CX') this.err(`gate '${name.v}' redefined`, name);
        const def = { name: name.v, params, args, body: [], opaque: t.v === 'opaque', user: true, tok: name };
        if (t.v === 'opaque') { this.expect(';'); prog.gates.set(name.v, def); return; }
        this.expect('{');
        while (!this.is('}')) {
          const bt = this.peek();
          if (bt.t !== 'id') this.err(`unexpected '${bt.v}' in gate body`, bt);
          if (bt.v === 'barrier') { this.next(); const ids = this.idlist(); this.expect(';'); for (const a of ids) if (!args.includes(a.v)) this.err(`unknown qubit argument '${a.v}'`, a); continue; }
          const gname = this.ident();
          let ps = [];
          if (this.is('(')) { this.next(); ps = this.explist(); this.expect(')'); }
          const ids = this.idlist(); this.expect(';');
          for (const a of ids) if (!args.includes(a.v)) this.err(`unknown qubit argument '${a.v}'`, a);
          const check = (e) => {
            if (e.t === 'id') { if (!params.includes(e.name)) this.err(`unknown parameter '${e.name}'`, e.tok); }
            else if (e.a) { check(e.a); if (e.b) check(e.b); }
          };
          ps.forEach(check);
          this.checkGateUse(prog, gname, ps.length, ids.length);
          def.body.push({ name: gname.v, params: ps, args: ids.map(x => x.v) });
        }
        this.expect('}');
        prog.gates.set(name.v, def);
        return;
      }
      case 'barrier': {
        this.next(); const args = this.arglist(); this.expect(';');
        this.resolveArgs(prog, args, 'q');
        return;
      }
      case 'measure': {
        this.next(); const q = this.argument(); this.expect('->'); const c = this.argument(); this.expect(';');
        const qs = this.resolveArgs(prog, [q], 'q')[0], cs = this.resolveArgs(prog, [c], 'c')[0];
        if ((q.idx === null) !== (c.idx === null)) this.err('measure: both arguments must be registers or both single bits', q.tok);
        if (qs.length !== cs.length) this.err('measure: register sizes differ', q.tok);
        const ops = qs.map((qq, k) => ({ kind: 'measure', q: qq, c: cs[k], line: t.line }));
        if (top) prog.stmts.push(...ops);
        return ops;
      }
      case 'reset': {
        this.next(); const q = this.argument(); this.expect(';');
        const ops = this.resolveArgs(prog, [q], 'q')[0].map(qq => ({ kind: 'reset', q: qq, line: t.line }));
        if (top) prog.stmts.push(...ops);
        return ops;
      }
      case 'if': {
        this.next(); this.expect('('); const cr = this.ident(); this.expect('=='); const val = this.int(); this.expect(')');
        const reg = prog.cregs.find(r => r.name === cr.v);
        if (!reg) this.err(`undeclared classical register '${cr.v}'`, cr);
        const nt = this.peek();
        if (nt.t === 'id' && (nt.v === 'if' || nt.v === 'barrier' || nt.v === 'gate' || nt.v === 'opaque' || nt.v === 'qreg' || nt.v === 'creg' || nt.v === 'include'))
          this.err(`'${nt.v}' cannot be conditioned`, nt);
        const ops = this.statement(prog, false);
        const out = ops.map(op => ({ kind: 'if', creg: reg, val: val.v, op, line: t.line }));
        prog.stmts.push(...out);
        return out;
      }
      default: {
        const gname = this.ident();
        let ps = [];
        if (this.is('(')) { this.next(); ps = this.explist(); this.expect(')'); }
        const args = this.arglist(); this.expect(';');
        const check = (e) => {
          if (e.t === 'id') this.err(`unknown identifier '${e.name}' in expression`, e.tok);
          else if (e.a) { check(e.a); if (e.b) check(e.b); }
        };
        ps.forEach(check);
        this.checkGateUse(prog, gname, ps.length, args.length);
        const lists = this.resolveArgs(prog, args, 'q');
        let width = 1;
        args.forEach((a, k) => {
          if (a.idx === null) {
            if (width !== 1 && lists[k].length !== width) this.err('broadcast over registers of different sizes', a.tok);
            width = lists[k].length;
          }
        });
        const ops = [];
        for (let w = 0; w < width; w++) {
          const qs = lists.map((l, k) => (args[k].idx === null ? l[w] : l[0]));
          if (new Set(qs).size !== qs.length) this.err('repeated qubit argument', gname);
          ops.push({ kind: 'gate', name: gname.v, params: ps, qubits: qs, line: t.line });
        }
        if (top) prog.stmts.push(...ops);
        return ops;
      }
    }
  }

  checkGateUse(prog, gname, np, na) {
    let def;
    if (gname.v === 'U') def = { params: [1, 2, 3], args: [1] };
    else if (gname.v === 'CX') def = { params: [], args: [1, 2] };
    else def = prog.gates.get(gname.v);
    if (!def) this.err(`unknown gate '${gname.v}'${prog.includes.length ? '' : ' (no include "qelib1.inc")'}`, gname);
    if (def.opaque) this.err(`opaque gate '${gname.v}' cannot be simulated`, gname);
    if (def.params.length !== np) this.err(`gate '${gname.v}' takes ${def.params.length} parameter(s), got ${np}`, gname);
    if (def.args.length !== na) this.err(`gate '${gname.v}' takes ${def.args.length} qubit(s), got ${na}`, gname);
  }

  resolveArgs(prog, args, kind) {
    return args.map(a => {
      const regs = kind === 'q' ? prog.qregs : prog.cregs;
      const reg = regs.find(r => r.name === a.reg);
      if (!reg) this.err(`undeclared ${kind === 'q' ? 'quantum' : 'classical'} register '${a.reg}'`, a.tok);
      if (a.idx === null) return Array.from({ length: reg.size }, (_, k) => reg.offset + k);
      if (a.idx >= reg.size) this.err(`index ${a.idx} out of range for '${a.reg}[${reg.size}]'`, a.tok);
      return [reg.offset + a.idx];
    });
  }
}

let QELIB1_CACHE = null;
function getQelib1() {
  if (!QELIB1_CACHE) {
    const p = new Parser('OPENQASM 2.0;\n' + QELIB1_CURRENT, '<qelib1>');
    const prog = p.program();
    for (const g of prog.gates.values()) g.user = false;
    QELIB1_CACHE = prog.gates;
  }
  return QELIB1_CACHE;
}

function parseQasm(src, file) {
  return new Parser(src, file).program();
}

// ---------------------------------------------------------------------------
// Expressions
// ---------------------------------------------------------------------------
function evalExpr(e, env) {
  switch (e.t) {
    case 'num': return e.v;
    case 'pi': return Math.PI;
    case 'id': if (!(e.name in env)) throw new Error(`unbound parameter ${e.name}`); return env[e.name];
    case 'neg': return -evalExpr(e.a, env);
    case 'call': {
      const x = evalExpr(e.a, env);
      switch (e.fn) {
        case 'sin': return Math.sin(x); case 'cos': return Math.cos(x); case 'tan': return Math.tan(x);
        case 'exp': return Math.exp(x); case 'ln': return Math.log(x); case 'sqrt': return Math.sqrt(x);
      }
      break;
    }
    case 'bin': {
      const a = evalExpr(e.a, env), b = evalExpr(e.b, env);
      switch (e.op) { case '+': return a + b; case '-': return a - b; case '*': return a * b; case '/': return a / b; case '^': return Math.pow(a, b); }
    }
  }
  throw new Error('bad expression');
}

// substitute parameter names by expressions (AST level)
function substExpr(e, map) {
  switch (e.t) {
    case 'id': return map[e.name] !== undefined ? map[e.name] : e;
    case 'neg': return { t: 'neg', a: substExpr(e.a, map) };
    case 'call': return { t: 'call', fn: e.fn, a: substExpr(e.a, map) };
    case 'bin': return { t: 'bin', op: e.op, a: substExpr(e.a, map), b: substExpr(e.b, map) };
    default: return e;
  }
}

// print for quantum-circuit (its QASM grammar + mathjs evaluation). Only
// constant expressions reach it (parameterised gates are expanded first).
// Its lexer rejects '1.' and '.5' (and only prints a warning), so numbers are
// normalised; mathjs has no ln(), so ln(x) is replaced by its value.
function exprText(e) {
  switch (e.t) {
    case 'num': {
      let t = e.text;
      if (t.startsWith('.')) t = '0' + t;
      t = t.replace(/\.(?=$|[eE])/, '.0');
      return t;
    }
    case 'pi': return 'pi';
    case 'id': return e.name;
    case 'neg': return `-(${exprText(e.a)})`;
    case 'call':
      if (e.fn === 'ln') { const v = evalExpr(e, {}); return v < 0 ? `-(${(-v).toPrecision(17)})` : v.toPrecision(17); }
      return `${e.fn}(${exprText(e.a)})`;
    case 'bin': return `(${exprText(e.a)})${e.op}(${exprText(e.b)})`;
  }
  throw new Error('bad expression');
}

// ---------------------------------------------------------------------------
// State vectors: { n, re: Float64Array, im: Float64Array }, index bit i = qubit i
// ---------------------------------------------------------------------------
function zeroState(n) {
  const re = new Float64Array(1 << n), im = new Float64Array(1 << n);
  re[0] = 1;
  return { n, re, im };
}
function cloneState(s) { return { n: s.n, re: Float64Array.from(s.re), im: Float64Array.from(s.im) }; }

// ---------------------------------------------------------------------------
// Own backend: small dense simulator with gate matrices written from the
// definitions of current qelib1 (check_gen.js verifies them against
// QELIB1_CURRENT expanded down to U and CX).
// ---------------------------------------------------------------------------
// complex 2x2 as [re00, im00, re01, im01, re10, im10, re11, im11]
function m2(a, b, c, d) { return [a[0], a[1], b[0], b[1], c[0], c[1], d[0], d[1]]; }
const C = (re, im = 0) => [re, im];
const cexp = (phi) => [Math.cos(phi), Math.sin(phi)];
const cmul = (a, b) => [a[0] * b[0] - a[1] * b[1], a[0] * b[1] + a[1] * b[0]];
function u3m(th, ph, la) {
  const c = Math.cos(th / 2), s = Math.sin(th / 2);
  return m2(C(c), cmul(C(-s), cexp(la)), cmul(C(s), cexp(ph)), cmul(C(c), cexp(ph + la)));
}
const SQ = Math.SQRT1_2;
function oneQubitMatrix(name, p) {
  switch (name) {
    case 'U': case 'u3': case 'u': return u3m(p[0], p[1], p[2]);
    case 'u2': return u3m(Math.PI / 2, p[0], p[1]);
    case 'u1': case 'p': return m2(C(1), C(0), C(0), cexp(p[0]));
    case 'id': case 'u0': return m2(C(1), C(0), C(0), C(1));
    case 'x': return m2(C(0), C(1), C(1), C(0));
    case 'y': return m2(C(0), C(0, -1), C(0, 1), C(0));
    case 'z': return m2(C(1), C(0), C(0), C(-1));
    case 'h': return m2(C(SQ), C(SQ), C(SQ), C(-SQ));
    case 's': return m2(C(1), C(0), C(0), C(0, 1));
    case 'sdg': return m2(C(1), C(0), C(0), C(0, -1));
    case 't': return m2(C(1), C(0), C(0), cexp(Math.PI / 4));
    case 'tdg': return m2(C(1), C(0), C(0), cexp(-Math.PI / 4));
    case 'rx': { const c = Math.cos(p[0] / 2), s = Math.sin(p[0] / 2); return m2(C(c), C(0, -s), C(0, -s), C(c)); }
    case 'ry': { const c = Math.cos(p[0] / 2), s = Math.sin(p[0] / 2); return m2(C(c), C(-s), C(s), C(c)); }
    case 'rz': return m2(cexp(-p[0] / 2), C(0), C(0), cexp(p[0] / 2));
    case 'sx': return m2(C(0.5, 0.5), C(0.5, -0.5), C(0.5, -0.5), C(0.5, 0.5));
    case 'sxdg': return m2(C(0.5, -0.5), C(0.5, 0.5), C(0.5, 0.5), C(0.5, -0.5));
  }
  return null;
}
// controlled single-qubit gates: name -> [number of controls, base gate, number of base params]
const CONTROLLED = {
  CX: [1, 'x'], cx: [1, 'x'], cy: [1, 'y'], cz: [1, 'z'], ch: [1, 'h'], crx: [1, 'rx'], cry: [1, 'ry'],
  crz: [1, 'rz'], cu1: [1, 'u1'], cp: [1, 'p'], cu3: [1, 'u3'], csx: [1, 'sx'], cu: [1, 'cu'],
  ccx: [2, 'x'], c3x: [3, 'x'], c3sqrtx: [3, 'sx'], c4x: [4, 'x'],
};

function applyControlled1(st, ctrls, tq, m) {
  const N = 1 << st.n, re = st.re, im = st.im;
  let cmask = 0;
  for (const c of ctrls) cmask |= 1 << c;
  const tb = 1 << tq;
  const [a0, a1, b0, b1, c0, c1, d0, d1] = m;
  for (let i = 0; i < N; i++) {
    if ((i & tb) || (i & cmask) !== cmask) continue;
    const j = i | tb;
    const xr = re[i], xi = im[i], yr = re[j], yi = im[j];
    re[i] = a0 * xr - a1 * xi + b0 * yr - b1 * yi;
    im[i] = a0 * xi + a1 * xr + b0 * yi + b1 * yr;
    re[j] = c0 * xr - c1 * xi + d0 * yr - d1 * yi;
    im[j] = c0 * xi + c1 * xr + d0 * yi + d1 * yr;
  }
}
function applySwap(st, ctrls, a, b) {
  const N = 1 << st.n, re = st.re, im = st.im;
  let cmask = 0;
  for (const c of ctrls) cmask |= 1 << c;
  const ab = 1 << a, bb = 1 << b;
  for (let i = 0; i < N; i++) {
    if ((i & cmask) !== cmask) continue;
    if ((i & ab) && !(i & bb)) {
      const j = (i & ~ab) | bb;
      let t = re[i]; re[i] = re[j]; re[j] = t;
      t = im[i]; im[i] = im[j]; im[j] = t;
    }
  }
}
function applyRzz(st, a, b, th) {
  const N = 1 << st.n, re = st.re, im = st.im;
  const [c, s] = [Math.cos(th / 2), Math.sin(th / 2)];
  for (let i = 0; i < N; i++) {
    const par = ((i >> a) ^ (i >> b)) & 1;
    const si = par ? s : -s; // diag(e^{-i th/2} even parity, e^{+i th/2} odd)
    const xr = re[i], xi = im[i];
    re[i] = c * xr - si * xi; im[i] = c * xi + si * xr;
  }
}
function applyRxx(st, a, b, th) {
  // exp(-i th/2 X(x)X) = cos(th/2) I - i sin(th/2) XX
  const N = 1 << st.n, re = st.re, im = st.im;
  const c = Math.cos(th / 2), s = Math.sin(th / 2);
  const mask = (1 << a) | (1 << b);
  for (let i = 0; i < N; i++) {
    const j = i ^ mask;
    if (j < i) continue;
    const xr = re[i], xi = im[i], yr = re[j], yi = im[j];
    re[i] = c * xr + s * yi; im[i] = c * xi - s * yr;
    re[j] = c * yr + s * xi; im[j] = c * yi - s * xr;
  }
}

// apply one gate (by name, numeric params, global qubits); user gates expand
function ownApplyGate(st, gates, name, params, qubits, depth = 0) {
  if (depth > 200) throw new Error('gate recursion too deep');
  const one = oneQubitMatrix(name, params);
  const def = gates.get(name);
  if (def && def.user) return ownExpand(st, gates, def, params, qubits, depth);
  if (one) { applyControlled1(st, [], qubits[0], one); return; }
  if (CONTROLLED[name]) {
    const [nc, base] = CONTROLLED[name];
    let m;
    if (base === 'cu') {
      m = u3m(params[0], params[1], params[2]);
      const g = cexp(params[3]);
      for (let k = 0; k < 8; k += 2) { const v = cmul([m[k], m[k + 1]], g); m[k] = v[0]; m[k + 1] = v[1]; }
    } else m = oneQubitMatrix(base, params);
    applyControlled1(st, qubits.slice(0, nc), qubits[nc], m);
    return;
  }
  switch (name) {
    case 'swap': applySwap(st, [], qubits[0], qubits[1]); return;
    case 'cswap': applySwap(st, [qubits[0]], qubits[1], qubits[2]); return;
    case 'rzz': applyRzz(st, qubits[0], qubits[1], params[0]); return;
    case 'rxx': applyRxx(st, qubits[0], qubits[1], params[0]); return;
  }
  if (def) return ownExpand(st, gates, def, params, qubits, depth); // rccx, rc3x
  throw new Error(`own simulator: no definition for gate '${name}'`);
}
function ownExpand(st, gates, def, params, qubits, depth) {
  const env = {};
  def.params.forEach((p, k) => { env[p] = params[k]; });
  const amap = {};
  def.args.forEach((a, k) => { amap[a] = qubits[k]; });
  for (const b of def.body) {
    ownApplyGate(st, gates, b.name, b.params.map(e => evalExpr(e, env)), b.args.map(a => amap[a]), depth + 1);
  }
}

function makeOwnBackend(prog) {
  return {
    name: 'own',
    apply(st, ops) {
      st = st ? st : zeroState(prog.nq);
      for (const op of ops) ownApplyGate(st, prog.gates, op.name, op.params.map(e => evalExpr(e, {})), op.qubits);
      return st;
    },
  };
}

// ---------------------------------------------------------------------------
// quantum-circuit backend
// ---------------------------------------------------------------------------
let QC = null;
function loadQC(moduleDir) {
  if (QC) return QC;
  const tries = [];
  if (moduleDir) tries.push(path.join(moduleDir, 'node_modules', 'quantum-circuit'), moduleDir);
  tries.push('quantum-circuit');
  let lastErr;
  for (const t of tries) {
    try {
      // silence antlr's circular-dependency warnings
      const pkgJson = t === 'quantum-circuit' ? require.resolve('quantum-circuit/package.json') : path.join(t, 'package.json');
      const ver = JSON.parse(fs.readFileSync(pkgJson, 'utf8')).version;
      if (ver !== PKG_VERSION) throw new Error(`quantum-circuit ${ver} found at ${t}, need ${PKG_VERSION}`);
      QC = require(t);
      QC.__version = ver;
      return QC;
    } catch (e) { lastErr = e; }
  }
  throw new Error(`cannot load quantum-circuit@${PKG_VERSION} (use --module-dir or QC_MODULE_DIR): ${lastErr && lastErr.message}`);
}

// Lower a gate application to statements quantum-circuit handles correctly.
// args are names (formal args inside a gate body, or 'Q[i]' at top level).
// Parameterless user gates are kept as calls (their definitions are emitted,
// lowered the same way); parameterised ones are expanded inline because
// quantum-circuit binds call parameters in order of first use in the body,
// not in declaration order.
function pkgLower(gates, name, params, args, out, depth = 0) {
  if (depth > 200) throw new Error('gate recursion too deep');
  if (name === 'U') name = 'u3';
  if (name === 'CX') name = 'cx';
  if (name === 'u0') return; // identity
  const def = gates.get(name);
  if (def && def.user) {
    if (def.params.length === 0) { out.push({ name: 'ug_' + name, params: [], args }); return; }
  } else if (PKG_NATIVE.has(name)) { out.push({ name, params, args }); return; }
  if (!def) throw new Error(`no definition for gate '${name}'`);
  const pmap = {};
  def.params.forEach((p, k) => { pmap[p] = params[k]; });
  const amap = {};
  def.args.forEach((a, k) => { amap[a] = args[k]; });
  for (const b of def.body) pkgLower(gates, b.name, b.params.map(e => substExpr(e, pmap)), b.args.map(a => amap[a]), out, depth + 1);
}
const stmtText = (s) => `${s.name}${s.params.length ? '(' + s.params.map(exprText).join(',') + ')' : ''} ${s.args.join(',')};`;

function makePkgBackend(prog, moduleDir) {
  const QuantumCircuit = loadQC(moduleDir);
  // definitions of the parameterless user gates, renamed ug_<name> so that no
  // user name can collide with a quantum-circuit built-in
  let defs = '';
  let needDefs = false;
  for (const g of prog.gates.values()) {
    if (!g.user || g.params.length) continue;
    needDefs = true;
    const body = [];
    for (const b of g.body) pkgLower(prog.gates, b.name, b.params, b.args, body);
    if (body.length === 0) body.push({ name: 'id', params: [], args: [g.args[0]] });
    defs += `gate ug_${g.name} ${g.args.join(',')} {\n${body.map(stmtText).join('\n')}\n}\n`;
  }
  const N = prog.nq;
  return {
    name: 'quantum-circuit',
    apply(st, ops) {
      const lines = [];
      for (const op of ops) pkgLower(prog.gates, op.name, op.params, op.qubits.map(q => `qsim[${q}]`), lines);
      // `id` on the last qubit: the package sizes the circuit by the highest wire used
      const text = `OPENQASM 2.0;\n${needDefs ? defs : ''}qreg qsim[${N}];\nid qsim[${N - 1}];\n${lines.map(stmtText).join('\n')}\n`;
      const qc = new QuantumCircuit();
      let errors = [];
      const origErr = console.error;
      const lexErrors = [];
      console.error = (...a) => { lexErrors.push(a.join(' ')); };
      try { qc.importQASM(text, (e) => { errors = e || []; }); } finally { console.error = origErr; }
      if (lexErrors.length) throw new Error('quantum-circuit lexer errors: ' + lexErrors.slice(0, 3).join('; '));
      if (errors.length) throw new Error('quantum-circuit import errors: ' + JSON.stringify(errors.slice(0, 3)));
      if (qc.numQubits !== N) throw new Error(`quantum-circuit sized the circuit to ${qc.numQubits} qubits, expected ${N}`);
      // every statement must have been placed (the package drops what it does not understand)
      let placed = 0;
      for (const row of qc.gates) for (const g of row) if (g && g.connector === 0) placed++;
      if (placed !== lines.length + 1) throw new Error(`quantum-circuit placed ${placed} gates, expected ${lines.length + 1}`);
      const unknown = [];
      const origLog = console.log;
      console.log = (...a) => { const m = a.join(' '); if (/Unknown gate/.test(m)) unknown.push(m); else origLog(...a); };
      try {
        if (st) {
          const init = new Array(1 << N);
          for (let i = 0; i < init.length; i++) init[i] = [st.re[i], st.im[i]];
          qc.run(null, { initialState: init });
        } else qc.run();
      } finally { console.log = origLog; }
      if (unknown.length) throw new Error('quantum-circuit: ' + unknown[0]);
      const out = { n: N, re: new Float64Array(1 << N), im: new Float64Array(1 << N) };
      for (const k in qc.state) {
        const i = parseInt(k, 10), v = qc.state[k];
        if (!(i >= 0 && i < (1 << N))) throw new Error('quantum-circuit returned amplitude index ' + k);
        out.re[i] = v.re; out.im[i] = v.im;
      }
      return out;
    },
  };
}

// ---------------------------------------------------------------------------
// Executor: exact outcome distribution with deferred measurement and
// branching on mid-circuit measurement, reset and if.
// Each branch carries an unnormalised state (its squared norm is the branch
// probability), known classical bits, pending measurements (clbit -> qubit,
// not yet collapsed: valid while the qubit is not acted on again) and a queue
// of gates not yet applied.
// ---------------------------------------------------------------------------
function simulate(prog, backend) {
  let branched = false;
  let maxBranches = 1;
  let branches = [{ st: null, cbits: new Uint8Array(prog.nc), pending: new Map(), queue: [] }];

  const flush = (b) => {
    if (b.queue.length) { b.st = backend.apply(b.st, b.queue); b.queue = []; }
    if (!b.st) b.st = zeroState(prog.nq);
  };
  const copyBranch = (b, st) => ({ st, cbits: Uint8Array.from(b.cbits), pending: new Map(b.pending), queue: [] });
  const norm2 = (st) => { let s = 0; for (let i = 0; i < st.re.length; i++) s += st.re[i] * st.re[i] + st.im[i] * st.im[i]; return s; };
  const project = (st, q, v) => {
    const out = cloneState(st);
    const bit = 1 << q;
    for (let i = 0; i < out.re.length; i++) if (((i & bit) ? 1 : 0) !== v) { out.re[i] = 0; out.im[i] = 0; }
    return out;
  };
  // collapse pending measurements whose source qubit is in qs
  const collapse = (b, qs) => {
    const srcs = [...new Set([...b.pending.values()].filter(q => qs.includes(q)))];
    if (!srcs.length) return [b];
    branched = true;
    flush(b);
    let list = [b];
    for (const q of srcs) {
      const next = [];
      for (const br of list) {
        for (const v of [0, 1]) {
          const st = project(br.st, q, v);
          if (norm2(st) < BRANCH_DROP) continue;
          const nb = copyBranch(br, st);
          for (const [c, src] of br.pending) if (src === q) { nb.cbits[c] = v; nb.pending.delete(c); }
          next.push(nb);
        }
      }
      list = next;
    }
    return list;
  };
  const step = (b, op) => {
    switch (op.kind) {
      case 'gate': {
        const list = collapse(b, op.qubits);
        for (const nb of list) nb.queue.push(op);
        return list;
      }
      case 'measure': {
        let list = [b];
        const prev = b.pending.get(op.c);
        if (prev !== undefined && prev !== op.q) list = collapse(b, [prev]); // keep the overwritten measurement's effect
        for (const nb of list) nb.pending.set(op.c, op.q);
        return list;
      }
      case 'reset': {
        branched = true;
        const list = collapse(b, [op.q]);
        const out = [];
        for (const br of list) {
          flush(br);
          const bit = 1 << op.q;
          const st0 = project(br.st, op.q, 0);
          if (norm2(st0) >= BRANCH_DROP) out.push(copyBranch(br, st0));
          const st1 = project(br.st, op.q, 1);
          if (norm2(st1) >= BRANCH_DROP) {
            const moved = { n: st1.n, re: new Float64Array(st1.re.length), im: new Float64Array(st1.im.length) };
            for (let i = 0; i < st1.re.length; i++) if (i & bit) { moved.re[i ^ bit] = st1.re[i]; moved.im[i ^ bit] = st1.im[i]; }
            out.push(copyBranch(br, moved));
          }
        }
        return out;
      }
      case 'if': {
        branched = true;
        const reg = op.creg;
        const srcs = [];
        for (let k = 0; k < reg.size; k++) { const q = b.pending.get(reg.offset + k); if (q !== undefined) srcs.push(q); }
        const list = collapse(b, srcs);
        const out = [];
        for (const br of list) {
          let val = 0;
          for (let k = reg.size - 1; k >= 0; k--) val = val * 2 + br.cbits[reg.offset + k];
          if (val === op.val) out.push(...step(br, op.op)); else out.push(br);
        }
        return out;
      }
    }
    throw new Error('bad op ' + op.kind);
  };

  for (const op of prog.stmts) {
    const next = [];
    for (const b of branches) next.push(...step(b, op));
    branches = next;
    if (branches.length > maxBranches) maxBranches = branches.length;
    if (branches.length > 4096) throw new Error('too many branches');
  }

  // joint distribution
  const dist = new Map();
  for (const b of branches) {
    flush(b);
    const pend = [...b.pending.entries()];
    if (pend.length > 30) throw new Error('more than 30 pending measurements: not supported');
    const cache = new Map();
    const st = b.st;
    for (let i = 0; i < st.re.length; i++) {
      const p = st.re[i] * st.re[i] + st.im[i] * st.im[i];
      if (p === 0) continue;
      let key = 0;
      for (let k = 0; k < pend.length; k++) if ((i >> pend[k][1]) & 1) key |= 1 << k;
      let s = cache.get(key);
      if (s === undefined) {
        const bits = Uint8Array.from(b.cbits);
        for (let k = 0; k < pend.length; k++) bits[pend[k][0]] = (key >> k) & 1;
        s = outcomeString(prog, bits);
        cache.set(key, s);
      }
      dist.set(s, (dist.get(s) || 0) + p);
    }
  }
  return { dist, method: branched ? 'exact-branching' : 'exact', maxBranches };
}

function outcomeString(prog, bits) {
  const parts = [];
  for (let r = prog.cregs.length - 1; r >= 0; r--) {
    const reg = prog.cregs[r];
    let s = '';
    for (let k = reg.size - 1; k >= 0; k--) s += bits[reg.offset + k] ? '1' : '0';
    parts.push(s);
  }
  return parts.join(' ');
}

function compareDists(a, b) {
  let maxDiff = 0, tvd = 0;
  const keys = new Set([...a.keys(), ...b.keys()]);
  for (const k of keys) {
    const d = Math.abs((a.get(k) || 0) - (b.get(k) || 0));
    if (d > maxDiff) maxDiff = d;
    tvd += d / 2;
  }
  return { maxDiff, tvd };
}

function formatExpected(rel, prog, res, extra) {
  const lines = [];
  lines.push(`# source: ${rel}`);
  lines.push(`# qubits: ${prog.nq}`);
  lines.push(`# clbits: ${prog.nc}` + (prog.nc ? ` (registers, last-declared first: ${prog.cregs.slice().reverse().map(r => `${r.name}[${r.size}]`).join(' ')})` : ' (no classical register: the only outcome is the empty string)'));
  lines.push(`# method: ${res.method}`);
  lines.push(`# generator: ${GENERATOR_VERSION}, quantum-circuit ${PKG_VERSION}` + (extra.cross ? `, cross-checked with built-in simulator (max |diff| ${extra.cross.maxDiff.toExponential(2)})` : ''));
  lines.push(`# format: <outcome>\\t<probability>, outcomes with probability > 1e-12, sorted`);
  const keys = [...res.dist.keys()].filter(k => res.dist.get(k) > PROB_THRESHOLD).sort();
  let total = 0;
  for (const k of keys) total += res.dist.get(k);
  lines.push(`# total probability listed: ${total.toPrecision(17)}`);
  for (const k of keys) lines.push(`${k}\t${res.dist.get(k).toPrecision(17)}`);
  return lines.join('\n') + '\n';
}

// process one circuit; returns summary object
function runOne(file, rel, opts) {
  const t0 = Date.now();
  const src = fs.readFileSync(file, 'utf8');
  const prog = parseQasm(src, rel);
  if (prog.nq > opts.maxQubits) return { status: 'skipped', reason: `${prog.nq} qubits > ${opts.maxQubits}` };
  const pkg = makePkgBackend(prog, opts.moduleDir);
  const res = simulate(prog, pkg);
  const extra = {};
  if (opts.crosscheck) {
    const own = simulate(prog, makeOwnBackend(prog));
    extra.cross = compareDists(res.dist, own.dist);
    if (own.method !== res.method) throw new Error('method mismatch between backends');
    if (extra.cross.maxDiff > CROSSCHECK_TOL) {
      return { status: 'failed', reason: `quantum-circuit and built-in simulator disagree: max |diff| ${extra.cross.maxDiff}, TVD ${extra.cross.tvd}` };
    }
  }
  const text = formatExpected(rel, prog, res, extra);
  return { status: 'ok', text, qubits: prog.nq, method: res.method, branches: res.maxBranches, outcomes: text.split('\n').filter(l => l && l[0] !== '#').length, seconds: (Date.now() - t0) / 1000, cross: extra.cross };
}

// ---------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------
function parseArgs(argv) {
  const o = {
    moduleDir: process.env.QC_MODULE_DIR || '', out: path.join(__dirname, 'expected'), maxQubits: 15,
    timeout: 60, only: null, crosscheck: true, files: [], one: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => { if (i + 1 >= argv.length) throw new Error(`${a} needs a value`); return argv[++i]; };
    if (a === '--module-dir') o.moduleDir = val();
    else if (a === '--out') o.out = val();
    else if (a === '--max-qubits') o.maxQubits = parseInt(val(), 10);
    else if (a === '--timeout') o.timeout = parseFloat(val());
    else if (a === '--only') o.only = new Set(val().split(','));
    else if (a === '--no-crosscheck') o.crosscheck = false;
    else if (a === '--one') o.one = val();
    else if (a === '-h' || a === '--help') { console.log(fs.readFileSync(__filename, 'utf8').split('\n').slice(1, 30).join('\n')); process.exit(0); }
    else if (a.startsWith('-')) throw new Error('unknown option ' + a);
    else o.files.push(a);
  }
  if (o.moduleDir) o.moduleDir = path.resolve(o.moduleDir);
  return o;
}

function main() {
  process.removeAllListeners('warning');
  const opts = parseArgs(process.argv.slice(2));
  if (opts.one) {
    // child mode: one circuit, JSON summary on stdout
    let r;
    try {
      r = runOne(opts.one, path.relative(__dirname, opts.one).split(path.sep).join('/'), opts);
    } catch (e) {
      r = { status: e.qasm ? 'skipped' : 'failed', reason: e.qasm ? `invalid: ${e.message}` : String(e && e.stack || e) };
    }
    process.stdout.write(JSON.stringify(r));
    return;
  }
  loadQC(opts.moduleDir); // fail early
  let files = opts.files;
  if (!files.length) {
    for (const d of ['small', 'medium']) {
      const dir = path.join(__dirname, d);
      if (!fs.existsSync(dir)) continue;
      for (const f of fs.readdirSync(dir).sort()) if (f.endsWith('.qasm')) files.push(path.join(dir, f));
    }
  }
  const stems = new Map();
  for (const f of files) {
    const stem = path.basename(f, '.qasm');
    if (stems.has(stem)) throw new Error(`stem ${stem} appears twice: ${stems.get(stem)} and ${f}`);
    stems.set(stem, f);
  }
  fs.mkdirSync(opts.out, { recursive: true });
  const summary = [];
  let failures = 0;
  for (const [stem, f] of stems) {
    if (opts.only && !opts.only.has(stem)) continue;
    const args = ['--no-warnings', __filename, '--one', path.resolve(f), '--max-qubits', String(opts.maxQubits)];
    if (opts.moduleDir) args.push('--module-dir', opts.moduleDir);
    if (!opts.crosscheck) args.push('--no-crosscheck');
    const t0 = Date.now();
    const r = child_process.spawnSync(process.execPath, args, { timeout: opts.timeout * 1000, maxBuffer: 1 << 28, encoding: 'utf8' });
    let res;
    if (r.error && r.error.code === 'ETIMEDOUT' || r.signal) res = { status: 'skipped', reason: `took more than ${opts.timeout} s` };
    else {
      try { res = JSON.parse(r.stdout); } catch (e) { res = { status: 'failed', reason: `no result (exit ${r.status}): ${(r.stderr || '').slice(-500)}` }; }
    }
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    if (res.status === 'ok') {
      fs.writeFileSync(path.join(opts.out, stem + '.txt'), res.text);
      console.log(`ok       ${stem.padEnd(22)} ${String(res.qubits).padStart(2)}q ${res.method.padEnd(15)} ${String(res.outcomes).padStart(5)} outcomes  ${secs}s` + (res.cross ? `  cross-check max|diff| ${res.cross.maxDiff.toExponential(1)}` : ''));
    } else {
      if (res.status === 'failed') failures++;
      console.log(`${res.status.padEnd(8)} ${stem.padEnd(22)} ${res.reason.split('\n')[0]}`);
      const stale = path.join(opts.out, stem + '.txt');
      if (fs.existsSync(stale)) fs.unlinkSync(stale);
    }
    summary.push({ stem, ...res, text: undefined });
  }
  const n = (s) => summary.filter(x => x.status === s).length;
  console.log(`\n${n('ok')} written, ${n('skipped')} skipped, ${n('failed')} failed`);
  if (failures) process.exitCode = 1;
}

module.exports = {
  QELIB1_CURRENT, PKG_NATIVE, parseQasm, getQelib1, simulate, outcomeString, compareDists, formatExpected,
  makeOwnBackend, makePkgBackend, loadQC, zeroState, cloneState, ownApplyGate, evalExpr, runOne,
};

if (require.main === module) {
  try { main(); } catch (e) { console.error(e.message || e); process.exit(2); }
}
