#!/usr/bin/env node
// Starts the Microsoft 365 Agents Playground (npm: @microsoft/m365agentsplayground), a
// Teams-like test client, so that it stays on this machine:
//
//   - every socket it listens on is bound to 127.0.0.1, whatever address it asks for
//     (the stock CLI listens on every interface);
//   - it opens no browser (TEAMSAPPTESTER_BROWSER=none; without it, a machine with no
//     `xdg-open` sees the process exit right after "Listening");
//   - its telemetry's "statsbeat", which queries an off-machine address even with --dt, is off
//     (APPLICATION_INSIGHTS_NO_STATSBEAT=true);
//   - an uncaught error or unhandled rejection is written to stderr, since the playground
//     logs to ./devTools/m365agentsplayground.log when stdout is not a terminal.
//
// The package is loaded from $PLAYGROUND_PKG_DIR, or else from
// ./node_modules/@microsoft/m365agentsplayground under the current folder. Every argument is
// the playground's own, for example:
//
//   M365_AGENTS_PLAYGROUND_CONVERSATION_ID=personal-chat-1 node scripts/teams-playground.js \
//     -e http://127.0.0.1:3978/api/messages -c msteams --dt -p 56150 \
//     --service-url http://127.0.0.1:56150/_connector
"use strict";

const fs = require("node:fs");
const net = require("node:net");
const path = require("node:path");

const LOOPBACK = "127.0.0.1";

function report(what, error) {
    const text = error && error.stack ? error.stack : String(error);
    process.stderr.write(`teams-playground: ${what}: ${text}\n`);
}

process.on("uncaughtException", (error) => {
    report("uncaught error", error);
    process.exit(1);
});
process.on("unhandledRejection", (reason) => {
    report("unhandled rejection", reason);
});

process.env.TEAMSAPPTESTER_BROWSER = "none";
process.env.APPLICATION_INSIGHTS_NO_STATSBEAT = "true";

// net.Server.listen(...) in all its forms: (port[, host][, backlog][, callback]),
// (options[, callback]), (path | handle[, ...]) and (callback) / (). A TCP listen gets the
// loopback address as its host; a Unix socket path or an inherited handle stays as it is.
function onLoopback(args) {
    const [first, ...rest] = args;
    if (first === undefined || first === null || typeof first === "function") {
        return [0, LOOPBACK, ...args.filter((a) => a !== undefined && a !== null)];
    }
    if (typeof first === "number" || (typeof first === "string" && /^\d+$/.test(first))) {
        if (typeof rest[0] === "string" || rest[0] === undefined || rest[0] === null) {
            return [first, LOOPBACK, ...rest.slice(1)];
        }
        return [first, LOOPBACK, ...rest]; // (port, backlog, callback) or (port, callback)
    }
    if (typeof first === "object" && !("path" in first) && !("handle" in first) && !("fd" in first)
        && !("_handle" in first)) {
        return [{ ...first, host: LOOPBACK }, ...rest];
    }
    return args;
}

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function listenOnLoopback(...args) {
    return listen.apply(this, onLoopback(args));
};

const packageDir = process.env.PLAYGROUND_PKG_DIR
    ? path.resolve(process.env.PLAYGROUND_PKG_DIR)
    : path.resolve("node_modules", "@microsoft", "m365agentsplayground");
if (!fs.existsSync(path.join(packageDir, "dist"))) {
    process.stderr.write(
        `teams-playground: no @microsoft/m365agentsplayground at ${packageDir}; install it with\n` +
            "  npm install --no-save @microsoft/m365agentsplayground\n" +
            "in this folder, or set PLAYGROUND_PKG_DIR to the package's folder.\n"
    );
    process.exit(2);
}

require(path.join(packageDir, "dist")).start();
