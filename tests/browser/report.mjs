// report.mjs: make report's static page in headless Chromium (Debian's
// /usr/bin/chromium) driven by playwright-core. Usage: node report.mjs
// FILE_URL SCREENSHOT.png ENTRIES (comma list of section ids that must be
// there). Checks: the page loads from file:// with no network, every entry's
// section is there, every <img> decodes (naturalWidth > 0), every SVG link
// target loads, no console error, no page error, no failed request; takes a
// full-page screenshot. Prints TAP lines; exit 1 on failure.
import { ok, done, launch } from './tap.mjs';

const [url, shot, entries] = process.argv.slice(2);

const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const errors = [], failed = [], remote = [];
  page.on('pageerror', e => errors.push(String(e)));
  page.on('console', m => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('requestfailed', r => failed.push(r.url()));
  page.on('request', r => { if (!r.url().startsWith('file://')) remote.push(r.url()); });
  await page.goto(url, { waitUntil: 'load' });
  ok((await page.title()).startsWith('DSAH report'), `title "${await page.title()}"`);
  const ids = await page.$$eval('section', s => s.map(x => x.id));
  const want = entries.split(',');
  ok(want.every(w => ids.includes(w)), `every entry present (${ids.join(' ')})`);
  const imgs = await page.$$eval('img', ims => ims.map(im => ({ src: im.getAttribute('src'), ok: im.complete && im.naturalWidth > 0 })));
  ok(imgs.length > 0 && imgs.every(i => i.ok), `${imgs.length} images, every one decoded${imgs.filter(i => !i.ok).map(i => ' ' + i.src).join('')}`);
  const svgs = await page.$$eval('a[href$=".svg"]', as => as.map(a => a.href));
  let svgOk = 0;
  for (const s of svgs) {
    const p2 = await browser.newPage();
    const r = await p2.goto(s);
    if (r && r.ok() && (await p2.$('svg')) !== null) svgOk++;
    await p2.close();
  }
  ok(svgs.length > 0 && svgOk === svgs.length, `${svgOk} of ${svgs.length} SVG files load as SVG`);
  const captions = await page.$$eval('figcaption', f => f.length);
  ok(captions === imgs.length, `every figure has a caption (${captions})`);
  const cmds = await page.$$eval('ul.meta code', cs => cs.map(c => c.textContent));
  ok(want.every(w => cmds.some(c => c.startsWith(`make report-${w} `))), 'every entry names the command that regenerates it alone');
  await page.screenshot({ path: shot, fullPage: true });
  ok(remote.length === 0, `no request leaves file:// ${remote.join(' ')}`);
  ok(failed.length === 0, `no failed request ${failed.join(' ')}`);
  ok(errors.length === 0, `no console or page error${errors.length ? ': ' + errors.join('; ') : ''}`);
} finally {
  await browser.close();
}
done();
