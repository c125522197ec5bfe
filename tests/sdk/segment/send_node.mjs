// Sends the shop scenario (see README.md) with the real, unmodified @segment/analytics-node
// client, pointed at a running `audex serve` through its documented `host` option.
// Usage: AUDEX_URL=http://127.0.0.1:PORT AUDEX_WRITE_KEY=wk node send_node.mjs PREFIX
import { Analytics } from '@segment/analytics-node'

const [prefix] = process.argv.slice(2)
const host = process.env.AUDEX_URL
const writeKey = process.env.AUDEX_WRITE_KEY
if (!prefix || !host || !writeKey) {
  console.error('usage: AUDEX_URL=… AUDEX_WRITE_KEY=… node send_node.mjs PREFIX')
  process.exit(2)
}

// flushAt 4: the 14 calls below go out as several /v1/batch requests, plus the final flush.
const analytics = new Analytics({ writeKey, host, flushAt: 4, maxRetries: 2 })
const errors = []
const requests = []
analytics.on('error', (e) => errors.push(e))
const responses = []
analytics.on('http_request', (r) => requests.push(r))
analytics.on('http_response', (r) => responses.push(r))

const ann = `${prefix}-ann`
const bob = `${prefix}-bob`
const anonWeb = `${prefix}-anon-web`
const anonApp = `${prefix}-anon-app`
const ifa = `${prefix.toUpperCase()}-6D92078A-IFA`
const shoe = { product_id: `${prefix}-p-100`, sku: 'SH-100', category: 'Shoes', brand: 'Acme', price: 59.9, currency: 'EUR' }
const coat = { product_id: `${prefix}-p-200`, sku: 'CO-200', category: 'Coats', brand: 'Acme', price: 120, currency: 'EUR' }

// Ann browses anonymously on the web and leaves a shoe in her cart.
analytics.page({ anonymousId: anonWeb, category: 'Landing', name: 'Home', properties: { url: 'https://shop.example/', path: '/', title: 'Home' } })
analytics.track({ anonymousId: anonWeb, event: 'Product Viewed', properties: shoe })
analytics.track({ anonymousId: anonWeb, event: 'Product Added', properties: { ...shoe, quantity: 1 } })
// She signs in: identify with traits links the anonymous web id to her user id.
analytics.identify({ userId: ann, anonymousId: anonWeb, traits: { email: `${prefix}-Ann@Example.com`, gender: 'female', age: 31, first_name: 'Ann', plan: 'gold' } })
// She opens the app (another anonymous id, with an advertising id), then the app aliases it.
analytics.screen({ anonymousId: anonApp, name: 'Product Detail', properties: { product_id: coat.product_id }, context: { app: { name: 'Shop', version: '1.2.0' }, device: { advertisingId: ifa, type: 'ios' } } })
analytics.alias({ previousId: anonApp, userId: ann })
analytics.group({ userId: ann, groupId: `${prefix}-team`, traits: { name: 'Ann and co' } })
// Bob buys a coat.
analytics.page({ userId: bob, name: 'Coats', properties: { url: 'https://shop.example/coats' } })
analytics.track({ userId: bob, event: 'Product Viewed', properties: coat })
analytics.track({ userId: bob, event: 'Product Added', properties: { ...coat, quantity: 1 } })
analytics.track({ userId: bob, event: 'Checkout Started', properties: { order_id: `${prefix}-o-1`, value: 120, currency: 'EUR', products: [coat] } })
analytics.track({ userId: bob, event: 'Order Completed', properties: { order_id: `${prefix}-o-1`, total: 120, revenue: 120, currency: 'EUR', products: [{ ...coat, quantity: 1 }] } })
analytics.identify({ userId: bob, traits: { gender: 'male', birthday: '1980-05-17' } })

await analytics.closeAndFlush({ timeout: 20000 })
const refused = responses.filter((r) => r.status >= 300)
if (errors.length || refused.length || requests.length < 2) {
  console.error('analytics-node: errors', errors.map((e) => `${e.code} ${e.reason ?? ''}`),
    'refused', refused.map((r) => `${r.status} ${r.statusText}`), 'requests', requests.length)
  process.exit(1)
}
console.log(`analytics-node: ${requests.length} batch request(s) to ${requests[0].url}, all ${responses.map((r) => r.status).join(',')}`)
