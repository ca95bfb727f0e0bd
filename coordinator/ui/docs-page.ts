/**
 * `GET /docs`: a small self-contained page that renders `openapi.json` (operations, parameters, body
 * and response schemas, auth). Everything is inline, so it works offline and on every runtime.
 */
const DOCS_STYLE = `
body { margin:0; font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:#1b1f24; background:#f5f6f8; }
main { max-width:960px; margin:0 auto; padding:1rem; }
h1 { font-size:1.3rem; } h4 { margin:.8rem 0 .3rem; font-size:.85rem; text-transform:uppercase; color:#5d6673; }
details.op { background:#fff; border:1px solid #dde1e6; border-radius:.5rem; margin:.5rem 0; padding:.5rem .8rem; }
summary { cursor:pointer; display:flex; flex-wrap:wrap; gap:.5rem; align-items:baseline; }
.m { font-weight:700; font-size:.8rem; padding:.1rem .4rem; border-radius:.25rem; color:#fff; background:#1f5fbf; }
.m.post { background:#137a3a; } .s { color:#5d6673; } .sec { color:#6b3fb3; font-size:.9rem; }
code { font:.88em ui-monospace,SFMono-Regular,Menlo,monospace; } .t { color:#8a5a00; font-family:ui-monospace,monospace; font-size:.85em; }
.opt { color:#b42318; } .d { color:#5d6673; font-size:.9em; } ul { margin:.2rem 0; padding-left:1.2rem; }
table { border-collapse:collapse; font-size:.9rem; } td { border-bottom:1px solid #dde1e6; padding:.2rem .5rem; }
.resp { margin:.3rem 0; } a { color:#1f5fbf; }
`;

const DOCS_SCRIPT = String.raw`
"use strict";
(function () {
  var root = document.getElementById("docs");
  var spec = null;
  function h(tag, attrs, children) {
    var node = document.createElement(tag);
    for (var key in attrs || {}) {
      if (attrs[key] === undefined || attrs[key] === null) continue;
      if (key === "text") node.textContent = String(attrs[key]);
      else node.setAttribute(key, String(attrs[key]));
    }
    (children || []).forEach(function (c) {
      if (c !== null && c !== undefined) node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }
  function resolve(schema) {
    var seen = 0;
    while (schema && schema.$ref && seen++ < 20) {
      var name = schema.$ref.split("/").pop();
      schema = (spec.components && spec.components.schemas && spec.components.schemas[name]) || {};
    }
    return schema || {};
  }
  function prose(tag, text) {
    return h(tag, {}, String(text).split("\u0060").map(function (part, i) { return i % 2 ? h("code", { text: part }) : part; }));
  }
  function typeOf(schema) {
    if (schema.$ref) {
      var target = resolve(schema);
      return schema.$ref.split("/").pop() + (target.enum ? " (" + typeOf(target) + ")" : "");
    }
    if (schema.enum) return schema.enum.map(function (v) { return JSON.stringify(v); }).join(" | ");
    if (schema.const !== undefined) return JSON.stringify(schema.const);
    var t = Array.isArray(schema.type) ? schema.type.join(" | ") : schema.type;
    if (schema.anyOf || schema.oneOf) return (schema.anyOf || schema.oneOf).map(typeOf).join(" | ");
    if (t === "array" && schema.items) return typeOf(schema.items) + "[]";
    if (schema.nullable) return (t || "any") + " | null";
    return t || "any";
  }
  function schemaTree(schema, depth) {
    var own = resolve(schema);
    var label = schema.$ref ? schema.$ref.split("/").pop() + ": " : "";
    if (depth > 6) return h("span", { class: "t", text: typeOf(schema) });
    if (own.type === "object" || own.properties) {
      var props = own.properties || {};
      var required = own.required || [];
      var items = Object.keys(props).map(function (key) {
        var p = props[key];
        var target = resolve(p);
        var nested = (target.properties || (target.type === "array" && resolve(target.items || {}).properties)) ? schemaTree(target.type === "array" ? target.items : p, depth + 1) : null;
        return h("li", {}, [
          h("code", { text: key }), required.indexOf(key) >= 0 ? "" : h("span", { class: "opt", text: "?" }),
          " ", h("span", { class: "t", text: typeOf(p) }),
          p.description ? h("span", { class: "d", text: " \u2014 " + p.description }) : null,
          nested,
        ]);
      });
      if (own.additionalProperties && typeof own.additionalProperties === "object") {
        items.push(h("li", {}, [h("code", { text: "[key]" }), " ", schemaTree(own.additionalProperties, depth + 1)]));
      }
      return h("div", {}, [label ? h("span", { class: "t", text: label + "object" }) : null, h("ul", {}, items)]);
    }
    return h("span", { class: "t", text: typeOf(schema) });
  }
  function operation(path, method, op) {
    var params = (op.parameters || []).map(function (p) {
      return h("tr", {}, [h("td", {}, [h("code", { text: p.name })]), h("td", { text: p.in }), h("td", { text: p.required ? "required" : "optional" }), h("td", { text: typeOf(p.schema || {}) + (p.description ? " \u2014 " + p.description : "") })]);
    });
    var body = op.requestBody && op.requestBody.content && op.requestBody.content["application/json"];
    var responses = Object.keys(op.responses || {}).map(function (code) {
      var r = op.responses[code];
      var content = r.content && r.content["application/json"];
      return h("div", { class: "resp" }, [h("strong", { text: code + " " }), r.description || "", content && content.schema ? schemaTree(content.schema, 0) : null]);
    });
    return h("details", { class: "op", id: method + path.replace(/[^a-z0-9]+/gi, "-") }, [
      h("summary", {}, [h("span", { class: "m " + method, text: method.toUpperCase() }), h("code", { text: path }), h("span", { class: "s", text: op.summary || "" })]),
      op.description ? prose("p", op.description) : null,
      op.security && op.security.length ? h("p", { class: "sec", text: "Auth: " + op.security.map(function (s) { return Object.keys(s).join(", ") || "none"; }).join(" or ") }) : h("p", { class: "sec", text: "Auth: none" }),
      params.length ? h("table", {}, [h("tbody", {}, params)]) : null,
      body ? h("div", {}, [h("h4", { text: "Request body" + (op.requestBody.required ? "" : " (optional)") }), schemaTree(body.schema, 0)]) : null,
      h("h4", { text: "Responses" }),
    ].concat(responses));
  }
  fetch("openapi.json", { cache: "no-store" }).then(function (r) { return r.json(); }).then(function (doc) {
    spec = doc;
    document.getElementById("title").textContent = doc.info.title + " " + doc.info.version;
    var nodes = [doc.info.description ? prose("p", doc.info.description) : null];
    Object.keys(doc.paths).sort().forEach(function (path) {
      Object.keys(doc.paths[path]).forEach(function (method) { nodes.push(operation(path, method, doc.paths[path][method])); });
    });
    var schemes = (doc.components && doc.components.securitySchemes) || {};
    nodes.push(h("h2", { text: "Authentication" }));
    Object.keys(schemes).forEach(function (name) {
      nodes.push(h("p", {}, [h("code", { text: name }), " \u2014 " + (schemes[name].description || schemes[name].type)]));
    });
    root.replaceChildren.apply(root, nodes.filter(Boolean));
  }).catch(function (error) {
    root.textContent = "Cannot load openapi.json: " + error.message;
  });
})();
`;

/** The HTML of `GET /docs`. */
export function docsPageHtml(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>healthmesh API</title>
<style>${DOCS_STYLE}</style>
</head>
<body>
<main>
<h1 id="title">healthmesh API</h1>
<p>The raw document: <a href="openapi.json">openapi.json</a> · the live status: <a href="./">status page</a></p>
<div id="docs">Loading…</div>
</main>
<script>${DOCS_SCRIPT}</script>
</body>
</html>
`;
}
