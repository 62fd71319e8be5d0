// tap.mjs: what the browser tests (page.mjs, report.mjs) share: TAP lines
// and headless Debian Chromium (/usr/bin/chromium, or $CHROMIUM) driven by
// playwright-core.
import { chromium } from 'playwright-core';

let n = 0, fails = 0;
// one TAP line: "ok N - what" or "not ok N - what"
export const ok = (c, what) => { n++; if (!c) fails++; console.log(`${c ? '' : 'not '}ok ${n} - ${what}`); };
// the plan line last, and the exit status: 1 when a check failed
export const done = () => { console.log(`1..${n}`); process.exit(fails ? 1 : 0); };
export const launch = () => chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
