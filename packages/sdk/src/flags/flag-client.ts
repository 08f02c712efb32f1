import { FlagdProvider } from "@openfeature/flagd-provider";
import {
  type Client,
  NOOP_PROVIDER,
  OpenFeature,
  type Provider,
  ProviderEvents,
} from "@openfeature/server-sdk";
import { type EvaluatedPlan, experimentFlagKey, planFromEvaluation } from "@umbra/protocol";

/** Where the SDK's experiment flags come from. */
export type FlagSource =
  /** A flagd sync endpoint (flagd's port 8015, or the collector's): the in-process provider. */
  | { readonly flagd: { readonly host: string; readonly port: number; readonly selector?: string } }
  /** The flag file itself, watched by the provider (changes are seen within ~5 s). */
  | { readonly file: string }
  /** Any OpenFeature provider (e.g. `InMemoryProvider` in unit tests). */
  | { readonly provider: Provider };

/** Evaluates an experiment's flag into a plan; never throws. */
export interface FlagClient {
  evaluate(
    targetingKey: string,
    context: Readonly<Record<string, string | number | boolean>>,
  ): Promise<EvaluatedPlan>;
  /** Whether the provider is ready (otherwise every plan is the code default). */
  ready(): boolean;
  close(): Promise<void>;
}

let domains = 0;

/**
 * Builds the OpenFeature client of one experiment under its own domain, so the application's own
 * default provider is untouched. Waits for the provider up to `initTimeoutMs`; if it is not ready
 * by then, evaluations return the code default until it is.
 */
export async function createFlagClient(args: {
  readonly source: FlagSource;
  readonly experiment: string;
  readonly defaultVariant: string;
  readonly initTimeoutMs: number;
  readonly onEvent?: (event: string, detail?: unknown) => void;
}): Promise<FlagClient> {
  const provider = providerFor(args.source);
  const domain = `umbra:${args.experiment}:${++domains}`;
  const flagKey = experimentFlagKey(args.experiment);
  let isReady = false;
  const client: Client = OpenFeature.getClient(domain);
  const onReady = () => {
    isReady = true;
    args.onEvent?.("ready");
  };
  const onError = (d: unknown) => {
    args.onEvent?.("error", d);
  };
  const onChange = (d: unknown) => args.onEvent?.("configuration_changed", d);
  client.addHandler(ProviderEvents.Ready, onReady);
  client.addHandler(ProviderEvents.Error, onError);
  client.addHandler(ProviderEvents.ConfigurationChanged, onChange);
  const init = OpenFeature.setProviderAndWait(domain, provider).then(
    () => {
      isReady = true;
    },
    (e: unknown) => onError(e),
  );
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    init,
    new Promise<void>((resolve) => (timer = setTimeout(resolve, args.initTimeoutMs))),
  ]);
  clearTimeout(timer);
  const fallback = args.defaultVariant;
  return {
    async evaluate(targetingKey, context) {
      try {
        const details = await client.getObjectDetails(flagKey, {}, { ...context, targetingKey });
        return planFromEvaluation(details, fallback);
      } catch {
        return planFromEvaluation({ value: null, reason: "ERROR" }, fallback);
      }
    },
    ready: () => isReady,
    async close() {
      client.removeHandler(ProviderEvents.Ready, onReady);
      client.removeHandler(ProviderEvents.Error, onError);
      client.removeHandler(ProviderEvents.ConfigurationChanged, onChange);
      await provider.onClose?.();
      // Unbind the domain; the SDK calls onClose again on the replaced provider, which is a no-op.
      OpenFeature.setProvider(domain, NOOP_PROVIDER);
    },
  };
}

function providerFor(source: FlagSource): Provider {
  if ("provider" in source) return source.provider;
  if ("file" in source)
    return new FlagdProvider({ resolverType: "in-process", offlineFlagSourcePath: source.file });
  return new FlagdProvider({
    resolverType: "in-process",
    host: source.flagd.host,
    port: source.flagd.port,
    ...(source.flagd.selector === undefined ? {} : { selector: source.flagd.selector }),
    // Re-open a dropped sync stream within a second instead of the default 5 s.
    retryBackoffMaxMs: 1_000,
  });
}
