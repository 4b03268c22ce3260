import GatehouseCore
import GatehouseStore
import Hummingbird
import Synchronization

/// Endpoints tests use to set the mock up and read what happened.
struct MockAdminRoutes: Sendable {
    let state: MockState

    func add(to router: Router<BasicRequestContext>) {
        router.get("/admin/counters") { _, _ in
            let counters = state.state.withLock { $0.counters }
            return Response.json(.object(counters.mapValues { .int(Int64($0)) }))
        }
        // Clears everything: tokens, counters, settings, key behaviours, the last request.
        router.post("/admin/reset") { _, _ in
            state.state.withLock { $0 = MockState.State() }
            return Response.json(["ok": true])
        }
        // {"key": "K", "reject"?, "status"?, "retryAfter"?, "body"?, "delayMs"?, "eventDelayMs"?,
        // "cutAfterEvents"?, "endAfterEvents"?, "times"?}: what the model routes do for requests with that credential
        // (replaces what was set for it before).
        router.post("/admin/keys") { request, _ in
            let bytes = try await request.bodyBytes()
            guard let body = try? JSONValue.parse(bytes) else {
                return Response.json(["error": "the body must be a JSON object"], status: .badRequest)
            }
            let parsed: (key: String, behaviour: KeyBehaviour)
            do {
                parsed = try KeyBehaviour.parse(body)
            } catch {
                return Response.json(["error": .string("\(error)")], status: .badRequest)
            }
            state.state.withLock { $0.keyBehaviours[parsed.key] = parsed.behaviour }
            return Response.json(["ok": true])
        }
        // No body: clears every key's behaviour; {"key": "K"}: only that key's.
        router.delete("/admin/keys") { request, _ in
            let key = try await request.jsonObject()["key"]?.stringValue
            state.state.withLock { state in
                if let key { state.keyBehaviours[key] = nil } else { state.keyBehaviours = [:] }
            }
            return Response.json(["ok": true])
        }
        // The last request to /v1/chat/completions or /v1/messages (404 before the first).
        router.get("/admin/last-request") { _, _ in
            guard let record = state.state.withLock({ $0.lastModelRequest }) else {
                return Response.json(["error": "no model request yet"], status: .notFound)
            }
            return Response.json(record.json)
        }
        // {"email": "..."}: a logged-in account; answers with its tokens (as a login would store them).
        router.post("/admin/oauth/account") { request, _ in
            let body = try await request.jsonObject()
            let email = body["email"]?.stringValue ?? "user@example.com"
            let now = WallClock.nowMillis()
            let issued = state.state.withLock { MockState.issue(email: email, &$0, now: now) }
            return Response.json(issued)
        }
        // {"userCode": "...", "decision": "approve" | "deny"}
        router.post("/admin/device/decide") { request, _ in
            let body = try await request.jsonObject()
            let decided = state.state.withLock { state -> Bool in
                guard let userCode = body["userCode"]?.stringValue,
                    let key = state.devices.first(where: { $0.value.userCode == userCode })?.key
                else { return false }
                state.devices[key]?.decision = body["decision"]?.stringValue ?? "approve"
                return true
            }
            return Response.json(["ok": .bool(decided)], status: decided ? .ok : .notFound)
        }
        // Any of: tokenLifetimeSeconds, tokenLatencyMs, authorizeBehavior, deviceIntervalSeconds,
        // deviceSlowDowns, tokenFaults (a list of statuses).
        router.post("/admin/config") { request, _ in
            let body = try await request.jsonObject()
            state.state.withLock { state in
                if let v = body["tokenLifetimeSeconds"]?.intValue { state.settings.tokenLifetimeSeconds = v }
                if let v = body["tokenLatencyMs"]?.intValue { state.settings.tokenLatencyMilliseconds = v }
                if let v = body["authorizeBehavior"]?.stringValue { state.settings.authorizeBehavior = v }
                if let v = body["deviceIntervalSeconds"]?.intValue { state.settings.deviceIntervalSeconds = v }
                if let v = body["deviceSlowDowns"]?.intValue { state.settings.deviceSlowDowns = Int(v) }
                if let v = body["keyless"]?.boolValue { state.settings.keyless = v }
                if let v = body["tokenFaults"]?.arrayValue { state.settings.tokenFaults = v.compactMap { $0.intValue.map(Int.init) } }
            }
            return Response.json(["ok": true])
        }
    }
}
