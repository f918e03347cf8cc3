-- wrk script for scripts/bench: POSTs a real invoice body per request, as `scripts/bench-sandbox` does
-- (copied from it so the two stay separate tools).
-- One invoice per request, numbered per wrk thread so numbers never repeat.
local counter = 0
-- thread_id is a global each thread gets from setup().
local threads = {}

function setup(thread)
    thread:set("thread_id", #threads)
    table.insert(threads, thread)
end

function init(args)
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
    wrk.headers["Accept"] = "application/json"
    wrk.headers["X-VTEX-API-AppKey"] = "sandbox-key"
    wrk.headers["X-VTEX-API-AppToken"] = "sandbox-token"
end

function request()
    counter = counter + 1
    local order = string.format("bench-%d-%d", thread_id, counter % 1000)
    local number = string.format("NF-%d-%d", thread_id, counter)
    local body = string.format(
        '{"type":"Output","issuanceDate":"2024-01-31T18:25:43-05:00",' ..
        '"invoiceNumber":"%s","invoiceValue":"2499",' ..
        '"invoiceKey":"CFe35201100063960001504590006629690333214542150",' ..
        '"invoiceUrl":"https://luxstore.com/invoices/24382.pdf","courier":"",' ..
        '"trackingNumber":"","trackingUrl":"","dispatchedDate":null,' ..
        '"items":[{"id":"123","price":2499,"description":"335","quantity":1}]}',
        number)
    return wrk.format(nil, "/api/oms/pvt/orders/" .. order .. "/invoice", nil, body)
end

function done(summary, latency, requests)
    local non2xx = summary.errors.status
    io.write(string.format("requests: %d, non-2xx: %d, socket errors: %d\n",
        summary.requests, non2xx,
        summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
    io.write(string.format("requests/s: %.0f\n", summary.requests / (summary.duration / 1e6)))
end
