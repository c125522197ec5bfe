// Sends the shop scenario (see README.md) with a real, unmodified Node client pointed at a
// running `audex serve` through its documented host option.
// Usage: AUDEX_URL=http://127.0.0.1:PORT AUDEX_WRITE_KEY=wk node send_node.mjs segment|rudder PREFIX
//   segment: @segment/analytics-node  — new Analytics({ writeKey, host }); JSON bodies
//   rudder:  @rudderstack/rudder-sdk-node — new Analytics(writeKey, { dataPlaneUrl }); gzip bodies
import { Analytics as SegmentAnalytics } from '@segment/analytics-node'
import RudderAnalytics from '@rudderstack/rudder-sdk-node'

const [which, prefix] = process.argv.slice(2)
const host = process.env.AUDEX_URL
const writeKey = process.env.AUDEX_WRITE_KEY
if (!['segment', 'rudder'].includes(which) || !prefix || !host || !writeKey) {
  console.error('usage: AUDEX_URL=… AUDEX_WRITE_KEY=… node send_node.mjs segment|rudder PREFIX')
  process.exit(2)
}

const errors = []
const statuses = []
let analytics
let drain
if (which === 'segment') {
  // flushAt 4: the 14 calls below leave as several /v1/batch requests, plus the final flush.
  analytics = new SegmentAnalytics({ writeKey, host, flushAt: 4, maxRetries: 2 })
  analytics.on('error', (e) => errors.push(`${e.code} ${e.reason ?? ''}`))
  analytics.on('http_response', (r) => statuses.push(r.status))
  drain = () => analytics.closeAndFlush({ timeout: 20000 })
} else {
  analytics = new RudderAnalytics(writeKey, {
    dataPlaneUrl: host, flushAt: 4, flushInterval: 200, retryCount: 1, logLevel: 'error',
    errorHandler: (e) => errors.push(`${e?.response?.status ?? ''} ${e?.message ?? e}`),
  })
  drain = async () => {
    for (let i = 0; i < 50 && pending.size; i++) {
      await analytics.flush()
      await new Promise((r) => setTimeout(r, 50))
    }
  }
}

// Every call is followed to its delivery (rudder reports per call; segment through events).
const pending = new Set()
function send (method, message) {
  const token = {}
  pending.add(token)
  analytics[method](message, (err) => {
    if (err) errors.push(`${method}: ${err.message ?? err}`)
    pending.delete(token)
  })
}

const ann = `${prefix}-ann`
const bob = `${prefix}-bob`
const anonWeb = `${prefix}-anon-web`
const anonApp = `${prefix}-anon-app`
const ifa = `${prefix.toUpperCase()}-6D92078A-IFA`
const shoe = { product_id: `${prefix}-p-100`, sku: 'SH-100', category: 'Shoes', brand: 'Acme', price: 59.9, currency: 'EUR' }
const coat = { product_id: `${prefix}-p-200`, sku: 'CO-200', category: 'Coats', brand: 'Acme', price: 120, currency: 'EUR' }

// Ann browses anonymously on the web and leaves a shoe in her cart.
send('page', { anonymousId: anonWeb, category: 'Landing', name: 'Home', properties: { url: 'https://shop.example/', path: '/', title: 'Home' } })
send('track', { anonymousId: anonWeb, event: 'Product Viewed', properties: shoe })
send('track', { anonymousId: anonWeb, event: 'Product Added', properties: { ...shoe, quantity: 1 } })
// She signs in: identify with traits links the anonymous web id to her user id.
send('identify', { userId: ann, anonymousId: anonWeb, traits: { email: `${prefix}-Ann@Example.com`, gender: 'female', age: 31, first_name: 'Ann', plan: 'gold' } })
// She opens the app (another anonymous id, with an advertising id), then the app aliases it.
send('screen', { anonymousId: anonApp, name: 'Product Detail', properties: { product_id: coat.product_id }, context: { app: { name: 'Shop', version: '1.2.0' }, device: { advertisingId: ifa, type: 'ios' } } })
send('alias', { previousId: anonApp, userId: ann })
send('group', { userId: ann, groupId: `${prefix}-team`, traits: { name: 'Ann and co' } })
// Bob buys a coat.
send('page', { userId: bob, name: 'Coats', properties: { url: 'https://shop.example/coats' } })
send('track', { userId: bob, event: 'Product Viewed', properties: coat })
send('track', { userId: bob, event: 'Product Added', properties: { ...coat, quantity: 1 } })
send('track', { userId: bob, event: 'Checkout Started', properties: { order_id: `${prefix}-o-1`, value: 120, currency: 'EUR', products: [coat] } })
send('track', { userId: bob, event: 'Order Completed', properties: { order_id: `${prefix}-o-1`, total: 120, revenue: 120, currency: 'EUR', products: [{ ...coat, quantity: 1 }] } })
send('identify', { userId: bob, traits: { gender: 'male', birthday: '1980-05-17' } })

await drain()
const refused = statuses.filter((s) => s >= 300)
if (errors.length || refused.length || pending.size) {
  console.error(`${which}: errors`, errors, 'refused', refused, 'undelivered', pending.size)
  process.exit(1)
}
console.log(`${which} (node): 14 calls delivered to ${host}/v1/batch` + (statuses.length ? ` in ${statuses.length} requests, all ${statuses.join(',')}` : ''))
