#!/usr/bin/env node
// Parses Adaptive Cards with Microsoft's `adaptivecards` library (the parser Teams clients
// use) and reports everything it objects to.
//
//   node adaptive_card_check.js <folder whose node_modules holds adaptivecards>
//
// Each line on stdin is one JSON array of cards; for each line, one line comes back on stdout:
// a JSON array with one `{"problems": [...]}` per card, in order (an empty list: the card is
// fine). One process can check any number of lines, so a caller may keep it running.
//
// Each card is parsed for the version it declares (Teams renders 1.5), so a property or
// value from a later version is reported too. Parse events (unknown element or action
// types, invalid property values, ...) and `validateProperties()` failures (missing or
// duplicate input ids, empty collections, unsupported version, too many actions for Teams, ...)
// all count as problems.
"use strict";

const path = require("node:path");
const readline = require("node:readline");

const prefix = process.argv[2];
if (!prefix) {
    process.stderr.write("usage: node adaptive_card_check.js <npm prefix holding adaptivecards>\n");
    process.exit(2);
}
// The UMD bundle, not the package's `main`: lib/ is ES modules with extension-less imports,
// which Node cannot load. Parsing needs no DOM (rendering would).
const AC = require(path.resolve(prefix, "node_modules", "adaptivecards", "dist", "adaptivecards.js"));

// What Teams' own host config says where it matters for validation: up to six actions in a
// row, and interactive cards (the library's defaults are five, and interactive).
const TEAMS = new AC.HostConfig({ supportsInteractivity: true, actions: { maxActions: 6 } });

function describe(event) {
    const phase = AC.ValidationPhase[event.phase] ?? String(event.phase);
    const kind = AC.ValidationEvent[event.event] ?? String(event.event);
    const source = event.source && typeof event.source.getJsonTypeName === "function"
        ? ` (${event.source.getJsonTypeName()}${event.source.id ? ` "${event.source.id}"` : ""})`
        : "";
    return `${phase}: ${kind}${source}: ${event.message}`;
}

function problemsOf(json) {
    if (json === null || typeof json !== "object" || Array.isArray(json)) {
        return ["not a JSON object"];
    }
    const probe = new AC.SerializationContext();
    const declared = typeof json.version === "string" ? AC.Version.parse(json.version, probe) : undefined;
    const context = new AC.SerializationContext(
        declared && declared.isValid ? declared : AC.Versions.latest
    );
    const card = new AC.AdaptiveCard();
    card.hostConfig = TEAMS;
    const problems = [];
    try {
        card.parse(json, context);
    } catch (error) {
        return [`the parser threw: ${error && error.stack ? error.stack : error}`];
    }
    for (let i = 0; i < context.eventCount; i++) {
        problems.push(describe(context.getEventAt(i)));
    }
    for (const event of card.validateProperties().validationEvents) {
        problems.push(describe(event));
    }
    return problems;
}

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on("line", (line) => {
    if (!line.trim()) {
        return;
    }
    let answer;
    try {
        const cards = JSON.parse(line);
        if (!Array.isArray(cards)) {
            throw new Error("each line must be a JSON array of cards");
        }
        answer = cards.map((card) => ({ problems: problemsOf(card) }));
    } catch (error) {
        answer = { error: String(error && error.message ? error.message : error) };
    }
    process.stdout.write(JSON.stringify(answer) + "\n");
});
