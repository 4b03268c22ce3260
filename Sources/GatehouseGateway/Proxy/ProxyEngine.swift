import GatehouseCore
import GatehouseHTTP
import GatehouseStore
import Glibc
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// Serves one model request: picks the agent's best credential, sends the request upstream, fails
/// over to the next credential before the client sees an error another one could avoid, and records
/// what happened. A class: every request's closures and tasks hold it by one reference.
final class ProxyEngine: Sendable {
    let state: GatewayState
    let upstream: UpstreamHTTPClient
    let tokens: OAuthTokenManager
    let access: AccessControl
    let logger: Logger
    /// Requests larger than this are refused with 413.
    let maxBodyBytes: Int
    /// Where each request's line goes.
    let requestLines: RequestLogger
    /// The encoded heads of recent upstream requests.
    let upstreamHeads = UpstreamHeadCache()

    init(
        state: GatewayState, upstream: UpstreamHTTPClient, tokens: OAuthTokenManager, access: AccessControl, logger: Logger,
        maxBodyBytes: Int
    ) {
        self.state = state
        self.upstream = upstream
        self.tokens = tokens
        self.access = access
        self.logger = logger
        self.maxBodyBytes = maxBodyBytes
        self.requestLines = RequestLogger(logger)
    }

    /// Whether a header from the client goes upstream (everything else, the client's own
    /// credentials above all, stays here), in any letter case.
    static func isForwardedRequestHeader(_ name: String) -> Bool {
        forwardedRequestHeaders.contains { HeaderName.matches(name, $0) }
    }

    private static let forwardedRequestHeaders: [StaticString] = [
        "anthropic-version", "anthropic-beta", "anthropic-dangerous-direct-browser-access", "openai-organization", "openai-project",
        "openai-beta", "x-stainless-retry-count", "accept", "idempotency-key",
    ]

    /// Forwarded headers whose value changes from one request to the next: they go up after the
    /// credential's kept head (`UpstreamHeadCache`), not in it.
    static func isPerRequestHeader(_ name: String) -> Bool {
        HeaderName.matches(name, "idempotency-key") || HeaderName.matches(name, "x-stainless-retry-count")
    }

    /// Response headers that come back to the client, in any letter case.
    static func isForwardedResponseHeader(_ name: String) -> Bool {
        HeaderName.matches(name, "content-type") || HeaderName.matches(name, "retry-after") || HeaderName.matches(name, "request-id")
            || HeaderName.matches(name, "x-request-id") || HeaderName.hasPrefix(name, "anthropic-ratelimit-")
            || HeaderName.hasPrefix(name, "x-ratelimit-") || HeaderName.matches(name, "openai-processing-ms")
    }

    private static let requestCounter = Atomic<UInt64>(0)
    private static let requestPrefix = String(UInt32.random(in: 0...UInt32.max), radix: 16)

    /// How much of an upstream error answer is read (to classify it, and to pass it on as it was).
    static let errorBodyLimit = 1 << 20

    /// The log's word for a request whose upstream request was cancelled.
    static let cancelled = "cancelled: the client closed the connection, or the gateway stopped"

    private static func nextRequestID() -> String {
        "gh-\(requestPrefix)-\(requestCounter.wrappingAdd(1, ordering: .relaxed).oldValue)"
    }

    /// Serves a model request, on its connection's event loop; `client` gets the answer. The client
    /// hanging up cancels `cancellation`.
    ///
    /// Most requests run with no task: when the first credential is at hand (a key, a token, an OAuth
    /// access token not due for refresh) and the pool has an idle connection to the provider, the
    /// request goes upstream at once, and a plain answer is written from the read that brings it.
    /// Everything else (a refresh to wait for, a connection to open, a failover, a session pin to
    /// write) goes on in a task through the same steps (`attempts`); a streamed answer is written
    /// from a task.
    ///
    /// `memo`: what the client's connection kept from its last request (used, and updated, here).
    func serve(_ request: ModelRequest, memo: ConnectionMemo, cancellation: UpstreamCancellation, client: ClientAnswerWriter) {
        var log = RequestLog(requestID: Self.nextRequestID(), api: request.api)
        let planned: PlannedRequest
        do {
            planned = try plan(request, memo: memo, log: &log)
        } catch {
            return deliver(answer(for: error, log: &log), log: log, to: client)
        }
        var first: FirstAttempt?
        // The first candidate is read where it is in the plan (no copy of it).
        if !planned.order.isEmpty, !planned.order[0].awaitingProbe,
            let prepared = prepareWithSecretAtHand(planned.order[0].profile, planned, memo: memo)
        {
            if startOnIdleConnection(prepared, planned, cancellation: cancellation, client: client, log: log) { return }
            first = prepared
        }
        finishInTask(planned, first: first, cancellation: cancellation, client: client, log: log)
    }

    /// The first attempt's request, when its credential is at hand (a key, a token, an OAuth access
    /// token that needs no refresh first); nil otherwise, or for a secret that cannot be sent (the
    /// task reports why).
    private func prepareWithSecretAtHand(_ profile: AuthProfile, _ planned: PlannedRequest, memo: ConnectionMemo) -> FirstAttempt? {
        guard let secret = try? secretAtHand(of: profile, agent: planned.runtime.id, resolver: planned.snapshot.resolver),
            let request = try? upstreamRequest(secret, of: profile, planned, memo: memo)
        else { return nil }
        return FirstAttempt(profile: profile.id, secret: secret, request: request)
    }

    /// The request of an attempt with `profile`'s credential, `secret`. Its head is made once for
    /// the requests with the same credential, provider and forwarded headers (`upstreamHeads`); the
    /// request's own headers follow it. `memo`: the client connection's, on its event loop (nil in
    /// a task).
    private func upstreamRequest(_ secret: String, of profile: AuthProfile, _ planned: PlannedRequest, memo: ConnectionMemo? = nil)
        throws(OAuthError) -> UpstreamRequest
    {
        var kept = memo?.head
        let head = try upstreamHeads.head(profile: profile.id, secret: secret, for: planned, connectionKept: &kept) {
            () throws(OAuthError) in
            var headers = Self.upstreamHeaders(planned.forwarded)
            try addCredential(secret, of: profile, provider: planned.provider, to: &headers)
            return UpstreamRequest.Head(method: .POST, url: planned.url, headers: headers)
        }
        memo?.head = kept
        return UpstreamRequest(head: head, headers: planned.perRequest, body: planned.body)
    }

    /// Sends the first attempt on an idle pooled connection; false, with nothing sent or recorded,
    /// when the pool has none (or the client hung up already).
    private func startOnIdleConnection(
        _ prepared: FirstAttempt, _ planned: PlannedRequest, cancellation: UpstreamCancellation, client: ClientAnswerWriter, log: RequestLog
    ) -> Bool {
        let profile = prepared.profile
        let started = upstream.startOnIdleConnection(prepared.request, on: planned.eventLoop, cancellation: cancellation) { [self] result in
            // A plain success with nothing more to do is answered here; anything else goes on in a task.
            if case .success(let response) = result, (200..<300).contains(Int(response.status.code)),
                pinUpdate(planned.pinAction, chosen: profile, runtime: planned.runtime, session: planned.session) == nil
            {
                var log = log
                log.attempts = 1
                log.profile = profile.description
                log.status = Int(response.status.code)
                let answer = relay(
                    response, api: planned.api, profile: profile, model: planned.modelID, secret: prepared.secret, runtime: planned.runtime,
                    requestID: log.requestID, attempts: 1)
                return deliver(answer, log: log, to: client)
            }
            finishInTask(planned, first: prepared.sent(result), cancellation: cancellation, client: client, log: log)
        }
        if started { planned.runtime.recorder.markUsed(profile) }
        return started
    }

    /// Serves the rest of a request in a task: it runs here until it first waits.
    private func finishInTask(
        _ planned: PlannedRequest, first: FirstAttempt?, cancellation: UpstreamCancellation, client: ClientAnswerWriter, log: RequestLog
    ) {
        Task.immediate {
            var log = log
            let answer: ProxyAnswer
            do {
                answer = try await attempts(planned, first: first, cancellation: cancellation, log: &log)
            } catch {
                answer = self.answer(for: error, log: &log)
            }
            await deliverInTask(answer, log: log, to: client)
        }
    }

    /// The answer to a request that ended in `error`, which the log records.
    private func answer(for error: any Error, log: inout RequestLog) -> ProxyAnswer {
        switch error {
        case is CancellationError:
            // The client hung up, or a stop's drain time ran out: the upstream request was cancelled.
            log.status = 499
            log.error = Self.cancelled
            return WireError(
                status: .custom(code: 499, reasonPhrase: "Client Closed Request"), kind: .upstream,
                message: "request cancelled (the connection closed or the gateway stopped)"
            ).answer(for: log.api, requestID: log.requestID)
        case let error as WireError:
            log.status = Int(error.status.code)
            log.error = error.message
            return error.answer(for: log.api, requestID: log.requestID)
        default:
            log.status = 500
            log.error = "\(error)"
            return WireError(status: .internalServerError, kind: .upstream, message: "internal error: \(error)")
                .answer(for: log.api, requestID: log.requestID)
        }
    }

    /// Writes the answer from the connection's loop, then records its success and writes its request
    /// line: a complete answer's after its write (the client does not wait for either), a stream's
    /// when it ends.
    private func deliver(_ answer: ProxyAnswer, log: RequestLog, to client: ClientAnswerWriter) {
        guard case .complete = answer.body else { return client.deliver(logged(answer, log: log)) }
        client.deliver(answer)
        answer.success?.record()
        requestLines.emitEnded(log)
    }

    /// `deliver` from a task.
    private func deliverInTask(_ answer: ProxyAnswer, log: RequestLog, to client: ClientAnswerWriter) async {
        guard case .complete = answer.body else { return await client.send(logged(answer, log: log)) }
        await client.send(answer)
        answer.success?.record()
        requestLines.emitEnded(log)
    }

    /// The answer with its request line: written now for a complete answer; for a stream when it
    /// ends, so that its duration is the whole answer's and a stream that was cut says so.
    private func logged(_ answer: ProxyAnswer, log: RequestLog) -> ProxyAnswer {
        guard case .stream(let produce) = answer.body else {
            requestLines.emitEnded(log)
            return answer
        }
        let requestLines = self.requestLines
        var answer = answer
        answer.body = .stream { writer in
            var log = log
            defer { requestLines.emitEnded(log) }
            do {
                log.error = try await produce(writer)
                return log.error
            } catch {
                log.error = "\(error)"
                throw error
            }
        }
        return answer
    }

    /// The answer to a model request refused before it was read whole (a body over the limit).
    func refuse(_ error: WireError, api: WireAPI) -> ProxyAnswer {
        var log = RequestLog(requestID: Self.nextRequestID(), api: api)
        return logged(answer(for: error, log: &log), log: log)
    }

    /// A model request checked and planned: what its attempts need. A class: the request's
    /// callbacks and task each hold it by one reference instead of copying every field.
    final class PlannedRequest: Sendable {
        let route: ModelRoute
        let session: String?
        let pinAction: CandidatePlan.PinAction
        /// The credentials to try, in order; none for a provider that needs none.
        let order: [CandidatePlan.Entry]
        /// The client's headers that go upstream with every request of theirs (in the credential's
        /// kept head), and the gateway's `anthropic-version` when it sent none.
        let forwarded: HTTPHeaders
        /// The client's headers that go upstream with this request alone (`isPerRequestHeader`).
        let perRequest: HTTPHeaders
        let body: [ByteBuffer]
        let url: UpstreamURL
        let eventLoop: any EventLoop

        var api: WireAPI { route.api }
        var runtime: AgentRuntime { route.runtime }
        var snapshot: GatewayState.Snapshot { route.snapshot }
        var provider: ProviderDefinition { route.provider }
        var providerID: String { route.providerID }
        var modelID: String { route.modelID }

        init(
            route: ModelRoute, session: String?, pinAction: CandidatePlan.PinAction, order: [CandidatePlan.Entry], forwarded: HTTPHeaders,
            perRequest: HTTPHeaders, body: [ByteBuffer], url: UpstreamURL, eventLoop: any EventLoop
        ) {
            self.route = route
            self.session = session
            self.pinAction = pinAction
            self.order = order
            self.forwarded = forwarded
            self.perRequest = perRequest
            self.body = body
            self.url = url
            self.eventLoop = eventLoop
        }
    }

    /// The first attempt, made before the task: its request, and how it went if it was sent. A
    /// class: the callback of its upstream request holds it by one reference.
    final class FirstAttempt: Sendable {
        let profile: ProfileID
        let secret: String
        let request: UpstreamRequest
        /// Nil when it was not sent (no idle connection).
        let result: Result<UpstreamResponse, any Error>?

        init(profile: ProfileID, secret: String, request: UpstreamRequest, result: Result<UpstreamResponse, any Error>? = nil) {
            self.profile = profile
            self.secret = secret
            self.request = request
            self.result = result
        }

        /// The same attempt, sent, with how it went.
        func sent(_ result: Result<UpstreamResponse, any Error>) -> FirstAttempt {
            FirstAttempt(profile: profile, secret: secret, request: request, result: result)
        }
    }

    /// Checks the request (token, agent, session, body, model, provider) and plans its credentials.
    private func plan(_ request: ModelRequest, memo: ConnectionMemo, log: inout RequestLog) throws -> PlannedRequest {
        let api = request.api
        // One pass over the client's headers: the token, the gateway's own, and those that go upstream.
        var authorization: String?
        var apiKey: String?
        var agentHeader: String?
        var sessionHeader: String?
        // The client's headers that go upstream (most requests have none).
        var forwarded = HTTPHeaders()
        var perRequest = HTTPHeaders()
        for (name, value) in request.headers {
            if HeaderName.matches(name, "authorization") {
                authorization = authorization ?? value
            } else if HeaderName.matches(name, "x-api-key") {
                apiKey = apiKey ?? value
            } else if HeaderName.matches(name, "x-gatehouse-agent") {
                agentHeader = agentHeader ?? value
            } else if HeaderName.matches(name, "x-gatehouse-session") {
                sessionHeader = sessionHeader ?? value
            } else if Self.isForwardedRequestHeader(name) {
                if Self.isPerRequestHeader(name) {
                    perRequest.add(name: HeaderName.lowercased(name), value: value)
                } else {
                    forwarded.add(name: HeaderName.lowercased(name), value: value)
                }
            }
        }
        try access.check(authorization: authorization, apiKey: apiKey)
        // The configuration and the agent: those of the connection's last request when it named the
        // same agent and no configuration was installed since.
        let kept = memo.route.flatMap { $0.serves(agentHeader: agentHeader, generation: state.generation) ? $0 : nil }
        let snapshot: GatewayState.Snapshot
        let generation: Int
        let runtime: AgentRuntime
        if let kept {
            (snapshot, generation, runtime) = (kept.snapshot, kept.generation, kept.runtime)
            log.agent = runtime.id
        } else {
            (snapshot, generation) = state.currentWithGeneration
            let agentID = agentHeader ?? snapshot.defaultAgentID
            log.agent = agentID
            guard let configured = try state.configuredRuntime(for: agentID, in: snapshot) else {
                throw WireError(
                    status: .badRequest, kind: .invalidRequest,
                    message:
                        "unknown agent '\(agentID)' (X-Gatehouse-Agent); configured agents: \(snapshot.configuration.agents.map(\.id).joined(separator: ", "))"
                )
            }
            runtime = configured
        }
        let session = sessionHeader.flatMap { $0.isEmpty ? nil : $0 }
        if let session, let problem = SessionStore.problem(withKey: session) {
            throw WireError(status: .badRequest, kind: .invalidRequest, message: "X-Gatehouse-Session: \(problem)")
        }

        // The body (bounded by the connection's handler) is scanned for the model, which is rewritten
        // to the provider's own id.
        let body = request.body
        let scan: RequestBodyScan
        do {
            scan = try body.withUnsafeReadableBytes { bytes throws(RequestBodyScanError) in try RequestBodyScan.scan(bytes) }
        } catch {
            throw WireError(status: .badRequest, kind: .invalidRequest, message: error.description)
        }
        let route: ModelRoute
        if let kept, kept.serves(api: api, model: scan.model) {
            route = kept
            (log.provider, log.model) = (kept.providerID, kept.modelID)
        } else {
            route = try Self.route(
                scan.model, api: api, agentHeader: agentHeader, runtime: runtime, snapshot: snapshot, generation: generation, log: &log)
            memo.route = route
        }
        let (providerID, modelID, provider) = (route.providerID, route.modelID, route.provider)
        // The client's bytes go up as they came, around the provider's model id.
        let upstreamBody = Self.upstreamBody(body, replacing: scan.modelRange, with: route.encodedModelID)

        // Health and credentials as they are now.
        let now = WallClock.nowMillis()
        let plan = try runtime.plan(
            provider: providerID, model: modelID, session: session, in: snapshot, now: now, connectionKept: &memo.plan)

        var order: [CandidatePlan.Entry]
        switch plan.decision {
        case .use:
            // Usually every candidate is usable: the plan's own array, no copy.
            order = plan.candidates.allSatisfy(\.isUsableNow) ? plan.candidates : plan.candidates.filter(\.isUsableNow)
        case .probe(let id, _):
            runtime.probes.withLock { $0.lastProbeAt[providerID] = now }
            order = plan.candidates.filter { $0.profile.id == id }
        case .allUnavailable(let all):
            // A provider on this machine that needs no credential, for an agent with none for it.
            guard all.entries.isEmpty, !provider.needsCredential else { throw unavailable(all, provider: providerID, now: now) }
            order = []
        }

        if api == .anthropicMessages && !forwarded.contains(name: "anthropic-version") {
            forwarded.add(name: "anthropic-version", value: "2023-06-01")
        }
        let url: UpstreamURL
        switch route.upstreamURL {
        case .success(let parsed): url = parsed
        case .failure(let error):
            throw WireError(
                status: .internalServerError, kind: .upstream, message: "provider \(providerID) has an unusable baseUrl: \(error)")
        case nil:
            throw WireError(status: .internalServerError, kind: .upstream, message: "provider \(providerID) has no baseUrl")
        }
        return PlannedRequest(
            route: route, session: session, pinAction: plan.pinAction, order: order, forwarded: forwarded, perRequest: perRequest,
            body: upstreamBody, url: url, eventLoop: request.eventLoop)
    }

    /// Where a request for `model` (`provider/model`, as the client sent it) goes: the provider and
    /// its model id, checked against the configuration.
    private static func route(
        _ model: String, api: WireAPI, agentHeader: String?, runtime: AgentRuntime, snapshot: GatewayState.Snapshot, generation: Int,
        log: inout RequestLog
    ) throws -> ModelRoute {
        guard let slash = model.utf8.firstIndex(of: UInt8(ascii: "/")) else {
            throw WireError(
                status: .badRequest, kind: .invalidRequest,
                message: "model \"\(model)\" names no provider; use \"provider/model\", for example \"anthropic/\(model)\"")
        }
        let providerID = String(model[..<slash])
        let modelID = String(model[model.index(after: slash)...])
        log.provider = providerID
        log.model = modelID
        guard let provider = snapshot.providers[providerID] else {
            throw WireError(
                status: .badRequest, kind: .invalidRequest,
                message:
                    "unknown provider \"\(providerID)\" in model \"\(model)\"; known providers: \(snapshot.providers.keys.sorted().joined(separator: ", "))"
            )
        }
        guard provider.models.contains(where: { $0.id == modelID }) else {
            throw WireError(
                status: .notFound, kind: .notFound,
                message:
                    "unknown model \"\(modelID)\" of provider \(providerID); see GET /v1/models, or add it under providers.\(providerID).models in gatehouse.json"
            )
        }
        guard provider.api == api else {
            let route =
                provider.api == .anthropicMessages ? "POST /v1/messages (Anthropic wire)" : "POST /v1/chat/completions (OpenAI wire)"
            throw WireError(
                status: .badRequest, kind: .invalidRequest,
                message: "provider \(providerID) speaks the \(provider.api.rawValue) format; send this request to \(route)")
        }
        return ModelRoute(
            snapshot: snapshot, generation: generation, api: api, agentHeader: agentHeader, model: model, runtime: runtime,
            provider: provider, providerID: providerID, modelID: modelID, upstreamURL: snapshot.upstreamURLs[providerID])
    }

    /// Tries the planned credentials in order until one answers, and fails over on what another one
    /// could avoid. `first` is the first attempt as it was made before the task.
    private func attempts(
        _ planned: PlannedRequest, first: FirstAttempt?, cancellation: UpstreamCancellation, log: inout RequestLog
    ) async throws -> ProxyAnswer {
        let (runtime, providerID, modelID) = (planned.runtime, planned.providerID, planned.modelID)
        if planned.order.isEmpty { return try await serveWithoutCredential(planned, cancellation: cancellation, log: &log) }
        var first = first
        var order = planned.order[...]
        var lastFailure: (status: Int, headers: HTTPHeaders, body: ByteBuffer)?
        var lastTransport: String?
        while let entry = order.popFirst() {
            let profile = entry.profile
            let probing = entry.awaitingProbe
            if probing {
                // One probe at a time after a billing window.
                let claimed = runtime.probes.withLock { $0.inFlight.insert(profile.id).inserted }
                guard claimed else { continue }
            }
            defer { if probing { _ = runtime.probes.withLock { $0.inFlight.remove(profile.id) } } }

            var refreshed = false
            attempt: while true {
                log.attempts += 1
                log.profile = profile.id.description
                let secret: String
                let result: Result<UpstreamResponse, any Error>
                if let made = first, made.profile == profile.id {
                    first = nil
                    secret = made.secret
                    switch made.result {
                    case .failure(let error as UpstreamError) where error.neverSent:
                        // Its pooled connection had closed: the request goes again, on a new connection
                        // (the pool's other connections may be as old).
                        result = await send(made.request, on: planned.eventLoop, newConnection: true, cancellation: cancellation)
                    case let sent?:
                        result = sent
                    case nil:
                        if cancellation.isCancelled { throw CancellationError() }
                        runtime.recorder.markUsed(profile.id)
                        result = await send(made.request, on: planned.eventLoop, newConnection: false, cancellation: cancellation)
                    }
                } else {
                    let request: UpstreamRequest
                    do {
                        secret = try await credentialSecret(of: profile, agent: runtime.id, resolver: planned.snapshot.resolver)
                        request = try upstreamRequest(secret, of: profile, planned)
                    } catch let error as OAuthError {
                        lastTransport = error.message
                        break attempt
                    }
                    runtime.recorder.markUsed(profile.id)
                    result = await send(request, on: planned.eventLoop, newConnection: false, cancellation: cancellation)
                }
                let response: UpstreamResponse
                switch result {
                case .success(let answered):
                    response = answered
                case .failure(let error):
                    if error is CancellationError || Task.isCancelled { throw CancellationError() }
                    // Only failures record the fingerprint: it is not worked out for every request.
                    let failure = (error as? UpstreamError)?.transportFailure ?? .connectionRefused
                    runtime.recorder.markFailure(
                        profile.id, model: modelID,
                        classification: FailureClassifier.classify(.transport(failure), now: WallClock.nowMillis()),
                        credentialFingerprint: Fingerprint.of(secret))
                    lastTransport = "\(profile.id): \(error)"
                    break attempt
                }
                let status = Int(response.status.code)
                if (200..<300).contains(status) {
                    log.status = status
                    await applyPin(planned.pinAction, chosen: profile.id, runtime: runtime, session: planned.session)
                    return relay(
                        response, api: planned.api, profile: profile.id, model: modelID, secret: secret, runtime: runtime,
                        requestID: log.requestID, attempts: log.attempts)
                }
                // An error answer: read a bounded prefix to classify it.
                let errorBody = await response.body.collectPrefix(limit: Self.errorBodyLimit)
                if cancellation.isCancelled { throw CancellationError() }
                let text = String(buffer: errorBody)
                let classification = FailureClassifier.classify(
                    .http(status: status, headers: response.headers.map { ($0.name, $0.value) }, body: text), now: WallClock.nowMillis())
                if classification.reason == .format {
                    // The request's own fault: every credential would get the same answer.
                    log.status = status
                    log.error = "format"
                    return Self.passThrough(
                        status: status, headers: response.headers, body: errorBody, profile: profile.id, requestID: log.requestID,
                        attempts: log.attempts)
                }
                if case .oauth = profile.credential, classification.reason == .auth || classification.reason == .authPermanent, !refreshed {
                    // One forced refresh and one retry on the same login.
                    refreshed = true
                    do {
                        _ = try await tokens.accessTokenAfterRejection(agent: runtime.id, profile: profile.id, rejectedAccessToken: secret)
                        continue attempt
                    } catch {
                        lastTransport = "\(profile.id): \(error)"
                    }
                }
                runtime.recorder.markFailure(
                    profile.id, model: modelID, classification: classification, credentialFingerprint: Fingerprint.of(secret))
                lastFailure = (status, response.headers, errorBody)
                break attempt
            }
        }
        // Every candidate failed: the client gets the last upstream answer as it was.
        if let lastFailure {
            log.status = lastFailure.status
            log.error = "all \(log.attempts) attempt(s) failed"
            return Self.passThrough(
                status: lastFailure.status, headers: lastFailure.headers, body: lastFailure.body, profile: nil, requestID: log.requestID,
                attempts: log.attempts)
        }
        throw WireError(
            status: .badGateway, kind: .upstream,
            message:
                "no answer from \(providerID) through any credential (\(log.attempts) attempt(s)); last error: \(lastTransport ?? "none")")
    }

    /// Sends an attempt's request and waits for the answer's head.
    private func send(
        _ request: UpstreamRequest, on eventLoop: any EventLoop, newConnection: Bool, cancellation: UpstreamCancellation
    ) async -> Result<UpstreamResponse, any Error> {
        do {
            return .success(try await upstream.execute(request, on: eventLoop, newConnection: newConnection, cancellation: cancellation))
        } catch {
            return .failure(error)
        }
    }

    /// One attempt with no credential, to a provider that needs none (a local server); nothing is
    /// recorded in profile health and the answer names no profile.
    private func serveWithoutCredential(_ planned: PlannedRequest, cancellation: UpstreamCancellation, log: inout RequestLog) async throws
        -> ProxyAnswer
    {
        log.attempts = 1
        log.profile = "none"
        let request = UpstreamRequest(
            head: UpstreamRequest.Head(method: .POST, url: planned.url, headers: Self.upstreamHeaders(planned.forwarded)),
            headers: planned.perRequest, body: planned.body)
        let response: UpstreamResponse
        do {
            response = try await upstream.execute(request, on: planned.eventLoop, cancellation: cancellation)
        } catch is CancellationError {
            throw CancellationError()
        } catch  where Task.isCancelled {
            throw CancellationError()
        } catch {
            throw WireError(
                status: .badGateway, kind: .upstream, message: "no answer from \(planned.providerID) (it needs no credential): \(error)")
        }
        log.status = Int(response.status.code)
        guard (200..<300).contains(log.status) else {
            let body = await response.body.collectPrefix(limit: Self.errorBodyLimit)
            return Self.passThrough(
                status: log.status, headers: response.headers, body: body, profile: nil, requestID: log.requestID, attempts: 1)
        }
        return relay(
            response, api: planned.api, profile: nil, model: planned.modelID, secret: nil, runtime: planned.runtime,
            requestID: log.requestID,
            attempts: 1)
    }

    /// The secret a profile's credential sends: its key or token, or the OAuth login's access token
    /// (refreshed when it is due; `accessToken` reads the login once and returns the token at hand).
    private func credentialSecret(of profile: AuthProfile, agent: String, resolver: EnvironmentSecretResolver) async throws -> String {
        if case .oauth = profile.credential { return try await tokens.accessToken(agent: agent, profile: profile.id) }
        return try storedSecret(of: profile, resolver: resolver)
    }

    /// The secret of a profile when it is at hand: a key, a token, or an OAuth access token that
    /// needs no wait for a refresh; nil when the OAuth login must be refreshed first.
    private func secretAtHand(of profile: AuthProfile, agent: String, resolver: EnvironmentSecretResolver) throws(OAuthError) -> String? {
        // The login as the request's plan read it (the credential file as of the last millisecond).
        if case .oauth(let login) = profile.credential { return tokens.accessTokenAtHand(login, agent: agent, profile: profile.id) }
        return try storedSecret(of: profile, resolver: resolver)
    }

    /// The key or token of a profile that holds one (not an OAuth login).
    private func storedSecret(of profile: AuthProfile, resolver: EnvironmentSecretResolver) throws(OAuthError) -> String {
        guard let value = profile.secret(using: resolver).value else {
            throw OAuthError(code: .notFound, profile: profile.id.description, message: "\(profile.id) has no usable secret")
        }
        return value
    }

    /// Adds the headers that carry `secret`, a profile's credential, upstream.
    private func addCredential(_ secret: String, of profile: AuthProfile, provider: ProviderDefinition, to headers: inout HTTPHeaders)
        throws(OAuthError)
    {
        // Headers go upstream unchecked: a secret with a line break would split them.
        guard UpstreamRequest.isValidHeaderValue(secret) else {
            throw OAuthError(
                code: .notFound, profile: profile.id.description,
                message: "\(profile.id)'s secret holds a control character (a line break?), so it cannot be sent; add it again")
        }
        // The client's own authorization and x-api-key never go upstream: no search for them.
        switch (profile.credential, provider.oauth, provider.auth) {
        case (.oauth, let oauth?, _):
            for (name, value) in oauth.requestHeaders(accessToken: secret) {
                if name == "authorization" || name == "x-api-key" {
                    headers.add(name: name, value: value)
                } else {
                    headers.replaceOrAdd(name: name, value: value)
                }
            }
        case (.oauth, nil, _), (_, _, .bearer): headers.add(name: "authorization", value: "Bearer " + secret)
        case (_, _, .xAPIKey): headers.add(name: "x-api-key", value: secret)
        }
    }

    /// The headers of an upstream request's head: the gateway's own and the client's forwarded ones
    /// (with room for a credential's).
    static func upstreamHeaders(_ forwarded: HTTPHeaders) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.reserveCapacity(forwarded.count + 4)
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "user-agent", value: "gatehouse")
        if !forwarded.isEmpty { headers.add(contentsOf: forwarded) }
        return headers
    }

    /// Writes the session's pin change after a success, if there is one.
    private func applyPin(_ action: CandidatePlan.PinAction, chosen: ProfileID, runtime: AgentRuntime, session: String?) async {
        guard let session, let update = pinUpdate(action, chosen: chosen, runtime: runtime, session: session) else { return }
        do {
            try await runtime.sessionStore.apply(update, session: session, now: WallClock.nowMillis())
            // The session's next request reads what was just written.
            runtime.sessions.invalidate()
        } catch {
            logger.warning("could not update the session's pin", metadata: ["session": "\(session)", "error": "\(error)"])
        }
    }

    /// The pin change a success through `chosen` makes to the session; nil when there is none to write.
    private func pinUpdate(_ action: CandidatePlan.PinAction, chosen: ProfileID, runtime: AgentRuntime, session: String?) -> CandidatePlan
        .PinAction?
    {
        guard let session else { return nil }
        var effective = action
        // After a failover the session follows the profile that answered.
        switch action {
        case .setAuto(let planned) where planned != chosen: effective = .setAuto(chosen)
        case .replaceAutoWith(let planned) where planned != chosen: effective = .replaceAutoWith(chosen)
        case .keep, .none:
            if let pin = try? runtime.sessions.current().get().sessions[session]?.pin, pin.source == .auto,
                pin.profile != chosen.description
            {
                effective = .replaceAutoWith(chosen)
            }
        default: break
        }
        switch effective {
        case .none, .keep, .skipUserPin, .replaceAuto: return nil
        default: return effective
        }
    }

    /// Streams the upstream answer to the client as it arrives. An answer that is complete already
    /// (a plain answer usually is, by the time its head is read) goes out in one write.
    private func relay(
        _ response: UpstreamResponse, api: WireAPI, profile: ProfileID?, model: String, secret: String?, runtime: AgentRuntime,
        requestID: String, attempts: Int
    ) -> ProxyAnswer {
        let fields = Self.answerHeaders(response.headers, profile: profile, requestID: requestID, attempts: attempts)
        let isEventStream = response.headers.first(name: "content-type")?.hasPrefix("text/event-stream") == true
        let status = response.status
        let recorder = runtime.recorder
        // Health is recorded for the profile that served; a request without credential has none. A
        // complete answer records its success once it is written (`ProxyAnswer.success`), a stream
        // here when it ends.
        @Sendable func markGood() { if let profile { recorder.markGood(profile, model: model) } }
        @Sendable func markCut() {
            if let profile {
                recorder.markFailure(
                    profile, model: model, classification: FailureClassification(reason: .timeout),
                    credentialFingerprint: secret.map(Fingerprint.of))
            }
        }
        // An answer the upstream has ended already goes out in one write: a plain one, and a short
        // stream that came whole with its final event. A whole stream without its final event goes
        // out as a stream, which ends it with the cut error event.
        let taken = response.body.takeIfComplete()
        if let complete = taken {
            var tail: [UInt8] = []
            if !isEventStream || Self.containsStreamEnd(complete, api: api, tail: &tail) {
                var answer = ProxyAnswer.complete(status: status, headers: fields, body: complete)
                answer.success = profile.map { ProxyAnswer.Success(recorder: recorder, profile: $0, model: model) }
                return answer
            }
        }
        let upstreamBody = response.body
        var headers = fields
        if !isEventStream, let length = response.headers.first(name: "content-length") {
            headers.add(name: "content-length", value: length)
        }
        return ProxyAnswer(
            status: status, headers: headers,
            body: .stream { writer in
                // A client that hangs up cancels the upstream request: the wait for the next piece ends.
                var iterator = upstreamBody.makeAsyncIterator()
                var sawEnd = !isEventStream
                var tail: [UInt8] = []
                if let taken, taken.readableBytes > 0 {
                    // A whole stream without its final event: its pieces, then the cut (below).
                    try await writer.write(taken, flush: false)
                } else if !upstreamBody.nextIsAtHand() {
                    // The head waits for the first piece only when that piece is here (one write for both).
                    await writer.flush()
                }
                while true {
                    let chunk: ByteBuffer?
                    do {
                        chunk = try await iterator.next()
                    } catch is CancellationError {
                        return Self.cancelled
                    } catch let error as UpstreamError where error.code == .readerStalled {
                        // The client stopped reading: its answer is given up; the profile did nothing wrong.
                        throw error
                    } catch {
                        // The upstream cut the answer: the client must see an error, not a clean end.
                        markCut()
                        if isEventStream {
                            try await writer.write(
                                WireError.streamCutEvent(for: api, message: "the upstream connection ended in the middle of the answer"))
                            await writer.finish()
                            return "the upstream cut the answer: \(error)"
                        }
                        throw error
                    }
                    guard let chunk else { break }
                    if isEventStream && !sawEnd { sawEnd = Self.containsStreamEnd(chunk, api: api, tail: &tail) }
                    do {
                        // A piece with more behind it (or the end) goes out with what follows: a short
                        // stream that came in one read is written in one flush with its end.
                        try await writer.write(chunk, flush: !upstreamBody.nextIsAtHand())
                    } catch {
                        upstreamBody.cancel()
                        throw error
                    }
                }
                var problem: String?
                if sawEnd {
                    markGood()
                } else {
                    markCut()
                    problem = "the upstream stream ended without its final event"
                    try await writer.write(WireError.streamCutEvent(for: api, message: problem!))
                }
                await writer.finish()
                return problem
            })
    }

    /// The client's body with the model field's value replaced by the provider's own model id: the
    /// client's bytes before and after it, as they are, around the new value (`UpstreamRequest`
    /// copies a small body into its head's buffer).
    static func upstreamBody(_ body: ByteBuffer, replacing range: Range<Int>, with model: ByteBuffer) -> [ByteBuffer] {
        let before = body.getSlice(at: body.readerIndex, length: range.lowerBound)!
        let after = body.getSlice(at: body.readerIndex + range.upperBound, length: body.readableBytes - range.upperBound)!
        return [before, model, after]
    }

    /// A model id as a JSON string: as it is, in quotes, unless it holds something JSON escapes.
    static func encodedModelID(_ model: String) -> ByteBuffer {
        var encoded = ByteBuffer()
        if model.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            encoded.writeBytes(JSONValue.string(model).serialized(pretty: false))
        } else {
            encoded.reserveCapacity(model.utf8.count + 2)
            encoded.writeInteger(UInt8(ascii: "\""))
            encoded.writeString(model)
            encoded.writeInteger(UInt8(ascii: "\""))
        }
        return encoded
    }

    /// Whether a piece of an event stream carries the wire format's final event (`data: [DONE]`,
    /// `event: message_stop`); `tail` keeps the end of the previous piece for markers split across.
    /// The piece is searched where it is (no copy).
    static func containsStreamEnd(_ chunk: ByteBuffer, api: WireAPI, tail: inout [UInt8]) -> Bool {
        let marker = api == .openAIChat ? openAIStreamEnd : anthropicStreamEnd
        return chunk.withUnsafeReadableBytes { bytes in
            if !tail.isEmpty {
                // A marker that began in the previous piece.
                var joined = tail
                joined.append(contentsOf: bytes.prefix(marker.count - 1))
                if joined.withUnsafeBytes({ contains(marker, in: $0) }) { return true }
            }
            if contains(marker, in: UnsafeRawBufferPointer(bytes)) { return true }
            let kept = bytes.suffix(marker.count - 1)
            if kept.count == marker.count - 1 {
                tail.removeAll(keepingCapacity: true)
                tail.append(contentsOf: kept)
            } else {
                // A piece shorter than the marker: it adds to what was kept.
                tail.append(contentsOf: kept)
                if tail.count > marker.count - 1 { tail.removeFirst(tail.count - (marker.count - 1)) }
            }
            return false
        }
    }

    private static let openAIStreamEnd = Array("[DONE]".utf8)
    private static let anthropicStreamEnd = Array("message_stop".utf8)

    private static func contains(_ marker: [UInt8], in bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count >= marker.count, let base = bytes.baseAddress else { return false }
        // The whole of every streamed piece is looked through: libc's vectorised `memchr` finds each
        // place the marker could start, `memcmp` checks it.
        return marker.withUnsafeBytes { marker in
            let first = Int32(marker[0])
            var start = base
            let end = base + bytes.count
            while end - start >= marker.count {
                guard let hit = memchr(start, first, end - start - marker.count + 1) else { return false }
                if memcmp(hit, marker.baseAddress!, marker.count) == 0 { return true }
                start = UnsafeRawPointer(hit) + 1
            }
            return false
        }
    }

    private static func passThrough(
        status: Int, headers: HTTPHeaders, body: ByteBuffer, profile: ProfileID?, requestID: String, attempts: Int
    ) -> ProxyAnswer {
        .complete(
            status: .init(statusCode: status), headers: answerHeaders(headers, profile: profile, requestID: requestID, attempts: attempts),
            body: body)
    }

    /// The headers of an answer to the client: the upstream's forwarded ones and the gateway's own.
    private static func answerHeaders(_ upstream: HTTPHeaders, profile: ProfileID?, requestID: String, attempts: Int) -> HTTPHeaders {
        // Made as a list: the names are known to be ASCII (the decoder's and the gateway's), so
        // `HTTPHeaders.add` need not check each.
        var headers: [(String, String)] = []
        headers.reserveCapacity(upstream.count + 3)
        for (name, value) in upstream where isForwardedResponseHeader(name) {
            headers.append((HeaderName.lowercased(name), value))
        }
        if let profile { headers.append((GatewayHeader.profile, profile.description)) }
        headers.append((GatewayHeader.requestID, requestID))
        headers.append((GatewayHeader.attempts, String(attempts)))
        return HTTPHeaders(headers)
    }

    private func unavailable(_ all: CandidatePlan.AllUnavailable, provider: String, now: Int64) -> WireError {
        if all.entries.isEmpty {
            // Not 401: that would read as a wrong gateway token to the client's SDK.
            return WireError(
                status: .serviceUnavailable, kind: .unavailable,
                message:
                    "no usable credential for provider \(provider); add one with `gatehouse auth add \(provider) ...` (see `gatehouse auth status \(provider)`)"
            )
        }
        let list = all.entries.map { id, window -> JSONValue in
            [
                "profile": .string(id.description), "reason": window.map { .string($0.reason.rawValue) } ?? .null,
                "until": window.map { .string(ISO8601.format(millis: $0.until)) } ?? .null,
            ]
        }
        let summary = all.entries.map { id, window in
            "\(id) \(window.map { "\($0.reason.rawValue) until \(ISO8601.format(millis: $0.until))" } ?? "unavailable")"
        }.joined(separator: "; ")
        let retry = all.retryAt.map { max(1, ($0 - now + 999) / 1000) }
        return WireError(
            status: all.status == 429 ? .tooManyRequests : .serviceUnavailable, kind: all.status == 429 ? .rateLimit : .overloaded,
            message: "every credential of \(provider) is cooling down: \(summary)", retryAfterSeconds: retry,
            details: ["profiles": .array(list)])
    }

    /// Where a provider's requests go: its base URL and the wire format's path.
    static func upstreamURL(of provider: ProviderDefinition) -> Result<UpstreamURL, UpstreamError> {
        var base = provider.baseURL
        while base.hasSuffix("/") { base.removeLast() }
        return Result { () throws(UpstreamError) in
            try UpstreamURL(base + (provider.api == .anthropicMessages ? "/v1/messages" : "/chat/completions"))
        }
    }
}

/// The one log line of a request.
struct RequestLog: Sendable {
    var requestID: String
    var api: WireAPI
    /// When the request was read.
    var start = ContinuousClock.now
    var agent: String?
    var provider: String?
    var model: String?
    var profile: String?
    var attempts = 0
    var status = 200
    var error: String?
}

/// Writes request lines. With the gateway's own handler and nothing for it to add, a line is built
/// straight into its text (the fields in the handler's key order), with no metadata dictionary to
/// fill, hash and sort; any other handler gets the same fields through the logger.
struct RequestLogger: Sendable {
    let logger: Logger
    /// The label of a `StandardErrorLogHandler` that adds no metadata; nil for any other handler.
    private let directLabel: String?

    init(_ logger: Logger) {
        self.logger = logger
        if let handler = logger.handler as? StandardErrorLogHandler, handler.addsNoMetadata {
            directLabel = handler.label
        } else {
            directLabel = nil
        }
    }

    /// Writes the line of a request that ends now.
    func emitEnded(_ log: RequestLog) {
        emit(log, duration: ContinuousClock.now - log.start)
    }

    func emit(_ log: RequestLog, duration: Duration) {
        guard logger.logLevel <= .info else { return }
        if let directLabel {
            StandardErrorOutput.writeLine(level: .info, label: directLabel, fields: 10) { line in
                Self.fill(&line, log, duration: duration)
            }
            return
        }
        var metadata = Logger.Metadata(minimumCapacity: 10)
        Self.forEachField(of: log, duration: duration) { key, value in metadata[key.description] = .string(value.text) }
        logger.info("request", metadata: metadata)
    }

    /// The line as the gateway's own handler writes it, built alone (`emit` builds the same line
    /// behind the lines its loop gathered; the tests compare this one with the handler's); nil when
    /// the logger's handler is another one.
    func directLine(_ log: RequestLog, duration: Duration) -> LogLine? {
        guard let directLabel else { return nil }
        var line = LogLine(level: .info, label: directLabel, fields: 10)
        Self.fill(&line, log, duration: duration)
        return line
    }

    /// The fields and end of the line.
    private static func fill(_ line: inout LogLine, _ log: RequestLog, duration: Duration) {
        forEachField(of: log, duration: duration) { key, value in line.field(key, value) }
        line.end(source: source, message: "request")
    }

    /// The line's fields, the keys in sorted order (as the handler writes them).
    private static func forEachField(of log: RequestLog, duration: Duration, _ body: (StaticString, LogLine.Value) -> Void) {
        if let agent = log.agent { body("agent", .text(agent)) }
        body("attempts", .integer(Int64(log.attempts)))
        if let profile = log.profile { body("auth.profile", .text(profile)) }
        body("duration.ms", .thousandths(duration.microseconds))
        if let error = log.error { body("error", .text(error)) }
        if let model = log.model { body("model", .text(model)) }
        if let provider = log.provider { body("provider", .text(provider)) }
        body("request.id", .text(log.requestID))
        body("status", .integer(Int64(log.status)))
        body("wire", .text(log.api.rawValue))
    }

    /// The module swift-log names as the line's source.
    private static let source = "GatehouseGateway"
}
