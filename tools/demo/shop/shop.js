// The demo shop's script: the shop's own API calls, and the tags of five
// tracking services sending what such tags send, in their request formats,
// to their real host names. demo.py makes the browser resolve those names to
// 127.0.0.1, so every request goes to the demo's own nginx.
//
// Each page awaits its requests one after the other, then moves on to the
// next page, and the last page requests /done so that demo.py can tell
// that the browser has finished.
'use strict';

// One local nginx serves the shop and every tracker, on one port.
const port = location.port ? ':' + location.port : '';
const trackerOrigin = {
  meta: 'https://www.facebook.com' + port,
  tiktok: 'https://analytics.tiktok.com' + port,
  ga4: 'https://region1.google-analytics.com' + port,
  linkedin: 'https://px.ads.linkedin.com' + port,
  clarity: 'https://z.clarity.ms' + port,
};
// Made-up account ids, as a shop would paste them into its tags.
const account = {
  meta: '917356204815',
  tiktok: 'C4PLAINSIGHTDEMO01',
  ga4: 'G-PSDEMO2024',
  linkedin: '5123456',
  clarity: 'psdemo7q3k',
};
const clientId = '1187342650.1733352000';
const loadedMs = Date.now();

function encode(text) {
  return encodeURIComponent(text);
}

async function sha256Hex(text) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), function (byte) {
    return byte.toString(16).padStart(2, '0');
  }).join('');
}

// Resolves when the image request has finished, whatever its outcome: the
// trackers' stand-ins return 204 No Content, which is no image.
function requestImage(url) {
  return new Promise(function (resolve) {
    const image = new Image();
    image.onload = image.onerror = resolve;
    image.src = url;
  });
}

// A cross-site POST that needs no CORS preflight: the body goes out as
// text/plain, and a tracker's server reads it as JSON all the same.
function postNoCors(url, body, headers) {
  const options = {method: 'POST', mode: 'no-cors', credentials: 'include', body: body,
                   headers: headers || {}};
  return fetch(url, options).catch(function () {});
}

// ---- Meta Pixel: GET /tr/ with the event, the page and hashed user data.

async function metaPixel(eventName, customData, userData) {
  let query = 'id=' + account.meta + '&ev=' + eventName + '&dl=' + encode(location.href) +
    '&rl=' + encode(document.referrer) + '&if=false&ts=' + Date.now();
  for (const [name, value] of Object.entries(customData || {}))
    query += '&cd[' + name + ']=' + encode(value);
  for (const [name, value] of Object.entries(userData || {}))
    query += '&ud[' + name + ']=' + value;
  query += '&sw=' + screen.width + '&sh=' + screen.height + '&v=2.9.179&r=stable&ec=0&o=4126';
  await requestImage(trackerOrigin.meta + '/tr/?' + query);
}

// ---- TikTok Pixel: POST /api/v2/pixel with one JSON event.

async function tiktokPixel(eventName, properties, user) {
  const event = {
    event: eventName,
    message_id: 'messageId-' + loadedMs + '-' + eventName,
    event_id: '',
    is_onsite: false,
    timestamp: new Date().toISOString(),
    context: {
      ad: {},
      user: user || {},
      pixel: {code: account.tiktok},
      page: {url: location.href, referrer: document.referrer},
      library: {name: 'pixel.js', version: '2.2.1'},
      device: {platform: 'pc'},
    },
    properties: properties || {},
  };
  await postNoCors(trackerOrigin.tiktok + '/api/v2/pixel', JSON.stringify(event));
}

// ---- Google Analytics 4: POST /g/collect with the hit in the query.

let ga4HitCount = 0;

async function ga4(eventName, parameters) {
  ga4HitCount++;
  const query = 'v=2&tid=' + account.ga4 + '&gtm=45je4cc0&_p=' + loadedMs + '&cid=' + clientId +
    '&ul=' + encode(navigator.language.toLowerCase()) + '&sr=' + screen.width + 'x' + screen.height +
    '&_s=' + ga4HitCount + '&sid=1733352000&sct=1&seg=1&dl=' + encode(location.href) +
    '&dr=' + encode(document.referrer) + '&dt=' + encode(document.title) + '&en=' + eventName +
    (parameters || '') + '&_ee=1';
  await postNoCors(trackerOrigin.ga4 + '/g/collect?' + query, '');
}

// ---- LinkedIn Insight Tag: GET /collect, a page view or a conversion.

async function linkedinInsight(conversionId) {
  let url = trackerOrigin.linkedin + '/collect?v=2&fmt=gif&pid=' + account.linkedin + '&time=' + Date.now() +
    '&url=' + encode(location.href);
  if (conversionId)
    url += '&conversionId=' + conversionId;
  await requestImage(url);
}

// ---- Microsoft Clarity: POST /collect, a gzip-compressed JSON upload of
// the recorded page. The envelope `e` has the fields of clarity-js's
// envelope in its order; the recorded nodes in `p` are simplified. The shop
// has turned masking off, so the recording contains the page's text and
// what the shopper typed.

function recordPage() {
  const tokens = [];
  const ids = new Map();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
  let nextId = 1;

  for (let node = walker.currentNode; node; node = walker.nextNode()) {
    const parentId = ids.get(node.parentNode) || null;

    ids.set(node, nextId);
    if (node.nodeType === Node.TEXT_NODE) {
      if (node.textContent.trim())
        tokens.push([nextId, parentId, '*T', node.textContent.trim()]);
    } else if (node.tagName === 'INPUT') {
      tokens.push([nextId, parentId, 'INPUT', {name: node.name, value: node.value}]);
    } else if (node.tagName !== 'SCRIPT') {
      tokens.push([nextId, parentId, node.tagName]);
    }
    nextId++;
  }
  return tokens;
}

async function gzip(text) {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function clarityUpload() {
  const pageNumber = Number(sessionStorage.getItem('clarityPage') || '0') + 1;
  const elapsedMs = Date.now() - loadedMs;

  sessionStorage.setItem('clarityPage', String(pageNumber));
  const envelope = ['0.7.49', 1, 0, elapsedMs, account.clarity, 'u1k7qz', 's9x2mv', pageNumber, 0, 0];
  const payload = JSON.stringify({e: envelope, a: [], p: [[elapsedMs, 5].concat(recordPage())]});
  await postNoCors(trackerOrigin.clarity + '/collect', await gzip(payload),
                   {Accept: 'application/x-clarity-gzip'});
}

// ---- The pages.

async function productPage() {
  await metaPixel('PageView');
  await tiktokPixel('ViewContent', {contents: [{content_id: 'ESP-90', content_name: 'Espresso cup'}],
                                    value: 12.5, currency: 'EUR'});
  await ga4('view_item', '&cu=EUR&pr1=idESP-90~nmEspresso%20cup~pr12.50~qt1');
  await linkedinInsight();
  await clarityUpload();

  // The shopper adds two cups to the cart.
  await fetch('/api/cart', {method: 'POST', headers: {'Content-Type': 'application/json'},
                            body: JSON.stringify({sku: 'ESP-90', quantity: 2})});
  location.assign('/checkout.html');
}

function readCheckoutForm() {
  const form = document.getElementById('checkout');
  const customer = {};

  for (const input of form.querySelectorAll('input'))
    customer[input.name] = input.value.trim();
  return customer;
}

// Hash normalised values with SHA-256, as the pixels' advanced matching sends them.
async function hashedMatchKeys(customer) {
  const phoneDigits = customer.phone.replace(/[^0-9]/g, '');

  return {
    email: await sha256Hex(customer.email.toLowerCase()),
    phoneDigits: await sha256Hex(phoneDigits),
    phoneE164: await sha256Hex('+' + phoneDigits),
    firstName: await sha256Hex(customer.first_name.toLowerCase()),
    lastName: await sha256Hex(customer.last_name.toLowerCase()),
    city: await sha256Hex(customer.city.toLowerCase().replace(/[\s\p{P}]/gu, '')),
    postalCode: await sha256Hex(customer.postal_code.toLowerCase()),
  };
}

async function placeOrder(customer) {
  const response = await fetch('/api/order', {
    method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({customer: customer, items: [{sku: 'ESP-90', quantity: 2}], payment: 'invoice'}),
  });
  const order = await response.json().catch(function () { return {}; });
  return order.order || 'PS-1042';
}

async function checkoutPage() {
  await ga4('begin_checkout', '&cu=EUR&epn.value=25.00');

  // The shopper presses "Buy now" with the form filled in.
  const customer = readCheckoutForm();
  const orderId = await placeOrder(customer);
  const keys = await hashedMatchKeys(customer);

  await metaPixel('InitiateCheckout', {value: '25.00', currency: 'EUR'},
                  {em: keys.email, ph: keys.phoneDigits, fn: keys.firstName, ln: keys.lastName,
                   ct: keys.city, zp: keys.postalCode});
  await tiktokPixel('InitiateCheckout', {value: 25, currency: 'EUR'},
                    {email: keys.email, phone_number: keys.phoneE164});
  await clarityUpload();

  sessionStorage.setItem('customerName', customer.first_name + ' ' + customer.last_name);
  // A careless confirmation link: the e-mail address goes into the URL, so
  // every tag that reports the page URL on the next page sends it along.
  location.assign('/confirmation.html?order=' + encode(orderId) + '&email=' + encode(customer.email));
}

async function confirmationPage() {
  const parameters = new URLSearchParams(location.search);
  const email = parameters.get('email') || '';
  const orderId = parameters.get('order') || '';

  document.getElementById('greeting').textContent =
    'Thank you, ' + (sessionStorage.getItem('customerName') || 'dear customer') + '.';
  document.getElementById('receipt').textContent =
    'We have sent the receipt for order ' + orderId + ' to ' + email + '.';

  await metaPixel('Purchase', {value: '25.00', currency: 'EUR'}, {em: await sha256Hex(email.toLowerCase())});
  await ga4('purchase', '&cu=EUR&ep.transaction_id=' + encode(orderId) + '&epn.value=25.00');
  await linkedinInsight('9876543');
  await clarityUpload();

  await fetch('/done');
}

const pages = {product: productPage, checkout: checkoutPage, confirmation: confirmationPage};
pages[document.body.dataset.page]();
