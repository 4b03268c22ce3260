/// The providers Gatehouse knows without any configuration.
///
/// Each provider's `models` is its catalog as of late 2025, newest or most used first. Ids are exactly
/// what the provider's API takes in a request's `model`; clients name a model `<provider>/<model id>`,
/// split at the first `/`, so ids may themselves hold `/`, `.` and `:` (`openrouter/anthropic/claude-sonnet-4.5`).
/// Context windows are in tokens, and left out where the provider does not state one or it depends on
/// the account tier or on how a local server was started. A configuration's `models` adds to these
/// lists, and replaces an entry with the same id.
public enum BuiltinProviders {
    /// Every built-in provider, by id.
    public static let all: [String: ProviderDefinition] = {
        let list: [ProviderDefinition] = [
            .init(
                id: "anthropic", api: .anthropicMessages, baseURL: "https://api.anthropic.com", auth: .xAPIKey, envKeys: ["ANTHROPIC_API_KEY"],
                oauth: OAuthDefinition(
                    tokenURL: "https://console.anthropic.com/v1/oauth/token", clientID: "9d1c250a-e61b-44d9-88ed-5944d1962f5e",
                    encoding: .json, scopes: ["org:create_api_key", "user:profile", "user:inference"],
                    authorizeURL: "https://claude.ai/oauth/authorize", header: .bearer,
                    extraHeaders: ["anthropic-beta": "oauth-2025-04-20"]),
                models: anthropic),
            .init(
                id: "openai-codex", api: .openAIChat, baseURL: "https://chatgpt.com/backend-api/codex", auth: .bearer, envKeys: [],
                oauth: OAuthDefinition(
                    tokenURL: "https://auth.openai.com/oauth/token", clientID: "app_EMoamEEZ73f0CkXaXp7hrann", encoding: .json,
                    scopes: ["openid", "profile", "email", "offline_access"], authorizeURL: "https://auth.openai.com/oauth/authorize"),
                models: openAICodex),
            .init(id: "openai", api: .openAIChat, baseURL: "https://api.openai.com/v1", auth: .bearer, envKeys: ["OPENAI_API_KEY"], models: openAI),
            .init(id: "xai", api: .openAIChat, baseURL: "https://api.x.ai/v1", auth: .bearer, envKeys: ["XAI_API_KEY"], models: xAI),
            .init(
                id: "openrouter", api: .openAIChat, baseURL: "https://openrouter.ai/api/v1", auth: .bearer, envKeys: ["OPENROUTER_API_KEY"],
                models: openRouter),
            .init(id: "groq", api: .openAIChat, baseURL: "https://api.groq.com/openai/v1", auth: .bearer, envKeys: ["GROQ_API_KEY"], models: groq),
            .init(id: "mistral", api: .openAIChat, baseURL: "https://api.mistral.ai/v1", auth: .bearer, envKeys: ["MISTRAL_API_KEY"], models: mistral),
            .init(
                id: "deepseek", api: .openAIChat, baseURL: "https://api.deepseek.com/v1", auth: .bearer, envKeys: ["DEEPSEEK_API_KEY"],
                models: deepSeek),
            .init(
                id: "together", api: .openAIChat, baseURL: "https://api.together.xyz/v1", auth: .bearer, envKeys: ["TOGETHER_API_KEY"],
                models: together),
            .init(
                id: "fireworks", api: .openAIChat, baseURL: "https://api.fireworks.ai/inference/v1", auth: .bearer, envKeys: ["FIREWORKS_API_KEY"],
                models: fireworks),
            .init(
                id: "cerebras", api: .openAIChat, baseURL: "https://api.cerebras.ai/v1", auth: .bearer, envKeys: ["CEREBRAS_API_KEY"],
                models: cerebras),
            .init(
                id: "gemini", api: .openAIChat, baseURL: "https://generativelanguage.googleapis.com/v1beta/openai", auth: .bearer,
                envKeys: ["GEMINI_API_KEY", "GOOGLE_API_KEY"], models: gemini),
            .init(id: "ollama", api: .openAIChat, baseURL: "http://127.0.0.1:11434/v1", auth: .bearer, envKeys: ["OLLAMA_API_KEY"], models: ollama),
            .init(id: "lm-studio", api: .openAIChat, baseURL: "http://127.0.0.1:1234/v1", auth: .bearer, envKeys: ["LM_STUDIO_API_KEY"], models: lmStudio),
            .init(id: "vllm", api: .openAIChat, baseURL: "http://127.0.0.1:8000/v1", auth: .bearer, envKeys: ["VLLM_API_KEY"], models: vLLM),
        ]
        return Dictionary(uniqueKeysWithValues: list.map { ($0.id, $0) })
    }()

    // MARK: - Hosted providers

    /// Anthropic's aliases (they follow the newest snapshot of each model), and the 3.x ones still served.
    /// Claude Opus 4 and Sonnet 4 are aliased `-4-0`; there is no `claude-opus-4` id.
    private static let anthropic: [ModelDefinition] = [
        .init(id: "claude-opus-4-5", name: "Claude Opus 4.5", contextWindow: 200_000),
        .init(id: "claude-sonnet-4-5", name: "Claude Sonnet 4.5", contextWindow: 200_000),
        .init(id: "claude-haiku-4-5", name: "Claude Haiku 4.5", contextWindow: 200_000),
        .init(id: "claude-opus-4-1", name: "Claude Opus 4.1", contextWindow: 200_000),
        .init(id: "claude-opus-4-0", name: "Claude Opus 4", contextWindow: 200_000),
        .init(id: "claude-sonnet-4-0", name: "Claude Sonnet 4", contextWindow: 200_000),
        .init(id: "claude-3-7-sonnet-latest", name: "Claude Sonnet 3.7", contextWindow: 200_000),
        .init(id: "claude-3-5-haiku-latest", name: "Claude Haiku 3.5", contextWindow: 200_000),
        .init(id: "claude-3-haiku-20240307", name: "Claude Haiku 3", contextWindow: 200_000),
    ]

    /// The models a ChatGPT plan reaches through the Codex backend.
    private static let openAICodex: [ModelDefinition] = [
        .init(id: "gpt-5.1-codex-max", name: "GPT-5.1 Codex Max", contextWindow: 400_000),
        .init(id: "gpt-5.1-codex", name: "GPT-5.1 Codex", contextWindow: 400_000),
        .init(id: "gpt-5.1-codex-mini", name: "GPT-5.1 Codex Mini", contextWindow: 400_000),
        .init(id: "gpt-5.1", name: "GPT-5.1", contextWindow: 400_000),
        .init(id: "gpt-5-codex", name: "GPT-5 Codex", contextWindow: 400_000),
        .init(id: "gpt-5-codex-mini", name: "GPT-5 Codex Mini", contextWindow: 400_000),
        .init(id: "gpt-5", name: "GPT-5", contextWindow: 400_000),
    ]

    private static let openAI: [ModelDefinition] = [
        .init(id: "gpt-5.1", name: "GPT-5.1", contextWindow: 400_000),
        .init(id: "gpt-5", name: "GPT-5", contextWindow: 400_000),
        .init(id: "gpt-5-mini", name: "GPT-5 mini", contextWindow: 400_000),
        .init(id: "gpt-5-nano", name: "GPT-5 nano", contextWindow: 400_000),
        .init(id: "gpt-5-chat-latest", name: "GPT-5 Chat", contextWindow: 128_000),
        .init(id: "gpt-4.1", name: "GPT-4.1", contextWindow: 1_047_576),
        .init(id: "gpt-4.1-mini", name: "GPT-4.1 mini", contextWindow: 1_047_576),
        .init(id: "gpt-4.1-nano", name: "GPT-4.1 nano", contextWindow: 1_047_576),
        .init(id: "gpt-4o", name: "GPT-4o", contextWindow: 128_000),
        .init(id: "gpt-4o-mini", name: "GPT-4o mini", contextWindow: 128_000),
        .init(id: "o3", name: "o3", contextWindow: 200_000),
        .init(id: "o4-mini", name: "o4-mini", contextWindow: 200_000),
        .init(id: "o3-mini", name: "o3-mini", contextWindow: 200_000),
        .init(id: "o1", name: "o1", contextWindow: 200_000),
    ]

    private static let xAI: [ModelDefinition] = [
        .init(id: "grok-4", name: "Grok 4", contextWindow: 256_000),
        .init(id: "grok-4-1-fast-reasoning", name: "Grok 4.1 Fast (reasoning)", contextWindow: 2_000_000),
        .init(id: "grok-4-1-fast-non-reasoning", name: "Grok 4.1 Fast (non-reasoning)", contextWindow: 2_000_000),
        .init(id: "grok-4-fast-reasoning", name: "Grok 4 Fast (reasoning)", contextWindow: 2_000_000),
        .init(id: "grok-4-fast-non-reasoning", name: "Grok 4 Fast (non-reasoning)", contextWindow: 2_000_000),
        .init(id: "grok-code-fast-1", name: "Grok Code Fast 1", contextWindow: 256_000),
        .init(id: "grok-3", name: "Grok 3", contextWindow: 131_072),
        .init(id: "grok-3-mini", name: "Grok 3 Mini", contextWindow: 131_072),
    ]

    /// OpenRouter names models `vendor/model`, with its own spelling of the vendor and version.
    private static let openRouter: [ModelDefinition] = [
        .init(id: "anthropic/claude-sonnet-4.5", name: "Anthropic: Claude Sonnet 4.5", contextWindow: 1_000_000),
        .init(id: "anthropic/claude-opus-4.1", name: "Anthropic: Claude Opus 4.1", contextWindow: 200_000),
        .init(id: "anthropic/claude-haiku-4.5", name: "Anthropic: Claude Haiku 4.5", contextWindow: 200_000),
        .init(id: "openai/gpt-5", name: "OpenAI: GPT-5", contextWindow: 400_000),
        .init(id: "openai/gpt-5-mini", name: "OpenAI: GPT-5 Mini", contextWindow: 400_000),
        .init(id: "openai/gpt-4o-mini", name: "OpenAI: GPT-4o-mini", contextWindow: 128_000),
        .init(id: "openai/gpt-oss-120b", name: "OpenAI: gpt-oss-120b", contextWindow: 131_072),
        .init(id: "google/gemini-2.5-pro", name: "Google: Gemini 2.5 Pro", contextWindow: 1_048_576),
        .init(id: "google/gemini-2.5-flash", name: "Google: Gemini 2.5 Flash", contextWindow: 1_048_576),
        .init(id: "x-ai/grok-4", name: "xAI: Grok 4", contextWindow: 256_000),
        .init(id: "x-ai/grok-code-fast-1", name: "xAI: Grok Code Fast 1", contextWindow: 256_000),
        .init(id: "meta-llama/llama-3.3-70b-instruct", name: "Meta: Llama 3.3 70B Instruct", contextWindow: 131_072),
        .init(id: "deepseek/deepseek-chat-v3.1", name: "DeepSeek: DeepSeek V3.1", contextWindow: 163_840),
        .init(id: "deepseek/deepseek-r1", name: "DeepSeek: R1"),
        .init(id: "qwen/qwen3-coder", name: "Qwen: Qwen3 Coder 480B A35B", contextWindow: 262_144),
        .init(id: "moonshotai/kimi-k2", name: "MoonshotAI: Kimi K2"),
        .init(id: "z-ai/glm-4.6", name: "Z.AI: GLM 4.6"),
        .init(id: "mistralai/mistral-medium-3.1", name: "Mistral: Mistral Medium 3.1"),
    ]

    private static let groq: [ModelDefinition] = [
        .init(id: "llama-3.3-70b-versatile", name: "Llama 3.3 70B Versatile", contextWindow: 131_072),
        .init(id: "llama-3.1-8b-instant", name: "Llama 3.1 8B Instant", contextWindow: 131_072),
        .init(id: "openai/gpt-oss-120b", name: "GPT-OSS 120B", contextWindow: 131_072),
        .init(id: "openai/gpt-oss-20b", name: "GPT-OSS 20B", contextWindow: 131_072),
        .init(id: "meta-llama/llama-4-maverick-17b-128e-instruct", name: "Llama 4 Maverick 17B 128E", contextWindow: 131_072),
        .init(id: "meta-llama/llama-4-scout-17b-16e-instruct", name: "Llama 4 Scout 17B 16E", contextWindow: 131_072),
        .init(id: "moonshotai/kimi-k2-instruct-0905", name: "Kimi K2 Instruct 0905", contextWindow: 262_144),
        .init(id: "qwen/qwen3-32b", name: "Qwen3 32B", contextWindow: 131_072),
    ]

    /// Mistral's `-latest` aliases. The large alias has moved between models of different windows, so
    /// it gives none.
    private static let mistral: [ModelDefinition] = [
        .init(id: "mistral-large-latest", name: "Mistral Large"),
        .init(id: "mistral-medium-latest", name: "Mistral Medium", contextWindow: 128_000),
        .init(id: "mistral-small-latest", name: "Mistral Small", contextWindow: 128_000),
        .init(id: "magistral-medium-latest", name: "Magistral Medium"),
        .init(id: "magistral-small-latest", name: "Magistral Small"),
        .init(id: "codestral-latest", name: "Codestral", contextWindow: 256_000),
        .init(id: "devstral-medium-latest", name: "Devstral Medium", contextWindow: 128_000),
        .init(id: "devstral-small-latest", name: "Devstral Small", contextWindow: 128_000),
        .init(id: "pixtral-large-latest", name: "Pixtral Large", contextWindow: 128_000),
        .init(id: "ministral-8b-latest", name: "Ministral 8B", contextWindow: 128_000),
        .init(id: "ministral-3b-latest", name: "Ministral 3B", contextWindow: 128_000),
        .init(id: "open-mistral-nemo", name: "Mistral Nemo", contextWindow: 128_000),
    ]

    private static let deepSeek: [ModelDefinition] = [
        .init(id: "deepseek-chat", name: "DeepSeek Chat", contextWindow: 128_000),
        .init(id: "deepseek-reasoner", name: "DeepSeek Reasoner", contextWindow: 128_000),
    ]

    private static let together: [ModelDefinition] = [
        .init(id: "meta-llama/Llama-3.3-70B-Instruct-Turbo", name: "Llama 3.3 70B Instruct Turbo", contextWindow: 131_072),
        .init(id: "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo", name: "Llama 3.1 8B Instruct Turbo", contextWindow: 131_072),
        .init(id: "meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8", name: "Llama 4 Maverick 17B 128E Instruct"),
        .init(id: "deepseek-ai/DeepSeek-V3.1", name: "DeepSeek V3.1"),
        .init(id: "deepseek-ai/DeepSeek-R1", name: "DeepSeek R1"),
        .init(id: "openai/gpt-oss-120b", name: "GPT-OSS 120B", contextWindow: 131_072),
        .init(id: "openai/gpt-oss-20b", name: "GPT-OSS 20B", contextWindow: 131_072),
        .init(id: "Qwen/Qwen3-Coder-480B-A35B-Instruct-FP8", name: "Qwen3 Coder 480B A35B Instruct", contextWindow: 262_144),
        .init(id: "Qwen/Qwen3-235B-A22B-Instruct-2507-tput", name: "Qwen3 235B A22B Instruct 2507", contextWindow: 262_144),
        .init(id: "Qwen/Qwen2.5-72B-Instruct-Turbo", name: "Qwen2.5 72B Instruct Turbo", contextWindow: 32_768),
        .init(id: "moonshotai/Kimi-K2-Instruct-0905", name: "Kimi K2 Instruct 0905", contextWindow: 262_144),
    ]

    /// Fireworks' serverless models, by their full resource name.
    private static let fireworks: [ModelDefinition] = [
        .init(id: "accounts/fireworks/models/llama-v3p3-70b-instruct", name: "Llama 3.3 70B Instruct", contextWindow: 131_072),
        .init(id: "accounts/fireworks/models/llama-v3p1-8b-instruct", name: "Llama 3.1 8B Instruct", contextWindow: 131_072),
        .init(id: "accounts/fireworks/models/deepseek-v3p1", name: "DeepSeek V3.1"),
        .init(id: "accounts/fireworks/models/deepseek-r1-0528", name: "DeepSeek R1 0528"),
        .init(id: "accounts/fireworks/models/gpt-oss-120b", name: "GPT-OSS 120B", contextWindow: 131_072),
        .init(id: "accounts/fireworks/models/gpt-oss-20b", name: "GPT-OSS 20B", contextWindow: 131_072),
        .init(id: "accounts/fireworks/models/qwen3-coder-480b-a35b-instruct", name: "Qwen3 Coder 480B A35B Instruct", contextWindow: 262_144),
        .init(id: "accounts/fireworks/models/qwen3-235b-a22b-instruct-2507", name: "Qwen3 235B A22B Instruct 2507", contextWindow: 262_144),
        .init(id: "accounts/fireworks/models/kimi-k2-instruct-0905", name: "Kimi K2 Instruct 0905", contextWindow: 262_144),
        .init(id: "accounts/fireworks/models/glm-4p6", name: "GLM-4.6"),
    ]

    /// Cerebras' windows depend on the account tier, so none is given.
    private static let cerebras: [ModelDefinition] = [
        .init(id: "gpt-oss-120b", name: "GPT-OSS 120B"),
        .init(id: "llama-3.3-70b", name: "Llama 3.3 70B"),
        .init(id: "llama3.1-8b", name: "Llama 3.1 8B"),
        .init(id: "qwen-3-32b", name: "Qwen 3 32B"),
        .init(id: "qwen-3-235b-a22b-instruct-2507", name: "Qwen 3 235B A22B Instruct 2507"),
        .init(id: "zai-glm-4.6", name: "Z.ai GLM 4.6"),
    ]

    /// Gemini through its OpenAI-compatible endpoint, which takes the bare model id.
    private static let gemini: [ModelDefinition] = [
        .init(id: "gemini-3-pro-preview", name: "Gemini 3 Pro Preview", contextWindow: 1_048_576),
        .init(id: "gemini-2.5-pro", name: "Gemini 2.5 Pro", contextWindow: 1_048_576),
        .init(id: "gemini-2.5-flash", name: "Gemini 2.5 Flash", contextWindow: 1_048_576),
        .init(id: "gemini-2.5-flash-lite", name: "Gemini 2.5 Flash-Lite", contextWindow: 1_048_576),
        .init(id: "gemini-2.0-flash", name: "Gemini 2.0 Flash", contextWindow: 1_048_576),
        .init(id: "gemini-2.0-flash-lite", name: "Gemini 2.0 Flash-Lite", contextWindow: 1_048_576),
    ]

    // MARK: - Local servers

    // A local server serves whatever was pulled or loaded, with the window it was started with; these
    // are the common names, for listing and completion.

    /// Ollama's library names; a bare name means its `:latest` tag.
    private static let ollama: [ModelDefinition] = [
        .init(id: "llama3.2", name: "Llama 3.2 3B"),
        .init(id: "llama3.1", name: "Llama 3.1 8B"),
        .init(id: "llama3.3", name: "Llama 3.3 70B"),
        .init(id: "qwen2.5-coder", name: "Qwen2.5 Coder 7B"),
        .init(id: "qwen3", name: "Qwen3 8B"),
        .init(id: "qwen3-coder", name: "Qwen3 Coder 30B"),
        .init(id: "gpt-oss:20b", name: "GPT-OSS 20B"),
        .init(id: "gemma3", name: "Gemma 3 4B"),
        .init(id: "deepseek-r1", name: "DeepSeek R1 8B"),
        .init(id: "mistral", name: "Mistral 7B"),
        .init(id: "phi4", name: "Phi-4 14B"),
    ]

    /// LM Studio's model keys.
    private static let lmStudio: [ModelDefinition] = [
        .init(id: "openai/gpt-oss-20b", name: "GPT-OSS 20B"),
        .init(id: "qwen/qwen3-coder-30b", name: "Qwen3 Coder 30B"),
        .init(id: "qwen/qwen3-4b-2507", name: "Qwen3 4B 2507"),
        .init(id: "google/gemma-3-12b", name: "Gemma 3 12B"),
        .init(id: "mistralai/devstral-small-2507", name: "Devstral Small 2507"),
        .init(id: "meta-llama-3.1-8b-instruct", name: "Llama 3.1 8B Instruct"),
        .init(id: "qwen2.5-coder-7b-instruct", name: "Qwen2.5 Coder 7B Instruct"),
    ]

    /// vLLM serves a model under its Hugging Face repository id unless told otherwise.
    private static let vLLM: [ModelDefinition] = [
        .init(id: "meta-llama/Llama-3.1-8B-Instruct", name: "Llama 3.1 8B Instruct"),
        .init(id: "meta-llama/Llama-3.3-70B-Instruct", name: "Llama 3.3 70B Instruct"),
        .init(id: "Qwen/Qwen2.5-Coder-7B-Instruct", name: "Qwen2.5 Coder 7B Instruct"),
        .init(id: "Qwen/Qwen3-8B", name: "Qwen3 8B"),
        .init(id: "openai/gpt-oss-20b", name: "GPT-OSS 20B"),
        .init(id: "openai/gpt-oss-120b", name: "GPT-OSS 120B"),
        .init(id: "mistralai/Mistral-7B-Instruct-v0.3", name: "Mistral 7B Instruct v0.3"),
    ]
}
