// page.mjs: dsah-serve's page in headless Chromium (Debian's /usr/bin/chromium)
// driven by playwright-core. Usage: node page.mjs URL SCREENSHOT.png ITEM K
// Opens the page, searches item ITEM with k = K, checks that every column
// shows K tiles whose ids and distances are those of /api/search, takes a
// screenshot, then tries the random button. Prints TAP lines; exit 1 on failure.
import { ok, done, launch } from './tap.mjs';

const [url, shot, item, k] = process.argv.slice(2);

const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors = [];
  page.on('pageerror', e => errors.push(String(e)));
  const resp = await page.goto(url);
  ok(resp.status() === 200 && (await page.title()) === 'dsah search', 'page loads (200, title "dsah search")');
  await page.fill('#item', item);
  await page.selectOption('#k', k);
  await page.click('#go');
  await page.waitForFunction(() => document.body.dataset.done === '1', null, { timeout: 20000 });
  const api = await (await page.request.get(`${url}api/search?item=${item}&k=${k}`)).json();
  const cols = await page.$$eval('.col', cs => cs.map(c => ({
    name: c.dataset.name,
    tiles: [...c.querySelectorAll('.tile')].map(t => ({ id: Number(t.dataset.id), distance: Number(t.dataset.distance) })),
  })));
  ok(cols.length === api.columns.length && cols.length >= 1, `${cols.length} column(s), as the API`);
  cols.forEach((c, i) => {
    const want = api.columns[i].results.map(r => ({ id: r.id, distance: r.distance }));
    ok(c.tiles.length === Number(k), `column ${c.name}: ${c.tiles.length} tiles for k = ${k}`);
    ok(JSON.stringify(c.tiles) === JSON.stringify(want), `column ${c.name}: tile ids and distances equal /api/search's`);
  });
  const caps = await page.$$eval('.col .tile .cap', cs => cs.map(c => c.textContent));
  ok(caps.length > 0 && caps.every(t => /^#\d+ d=\d+ [\u2713\u00d7]$/.test(t)), `captions "#id d=N \u2713|\u00d7" (${caps[0]})`);
  const loaded = await page.$$eval('.col .tile img', ims => ims.every(im => im.complete && im.naturalWidth > 0));
  ok(loaded, 'every thumbnail decoded (PNG from /img/N.png)');
  await page.screenshot({ path: shot, fullPage: true });
  await page.click('#random');
  await page.waitForFunction(() => document.body.dataset.done === '2', null, { timeout: 20000 });
  const q = await page.$eval('.qtile', e => e.textContent);
  ok(/^query: item \d+$/.test(q), `random query shown (${q})`);
  ok(errors.length === 0, `no page errors${errors.length ? ': ' + errors.join('; ') : ''}`);
} finally {
  await browser.close();
}
done();
