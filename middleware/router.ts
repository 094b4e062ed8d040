import { type Middleware, defineMiddleware } from '../lib/core/compose.js';
import type { Context } from '../lib/core/context.js';
import { MiddlewareError } from '../lib/core/errors.js';
import type { ReadonlyModelRequest } from '../lib/core/executor.js';
import { describeValue, checkKeys, optionNames } from '../lib/kit.js';
import type { CircuitBreakerMiddleware } from './circuit-breaker.js';

/** One rule: when `when` holds for the request, send it to `model`. */
export interface Route {
  readonly when: (request: ReadonlyModelRequest, ctx: Context) => boolean | Promise<boolean>;
  readonly model: string;
}

/** Picks the model for a request by code; `undefined` means "no opinion" (use `default`). */
export type RouteFunction = (
  request: ReadonlyModelRequest,
  ctx: Context,
) => string | undefined | Promise<string | undefined>;

export interface RouterOptions {
  /** Rules tried in order (the first whose `when` holds wins), or a function returning the model id. */
  readonly routes: readonly Route[] | RouteFunction;
  /** The model when no route matches. @default the model the request names */
  readonly default?: string | undefined;
  /**
   * A `circuitBreaker()` whose open circuits the rules route around: a rule whose model's circuit
   * is open is skipped as if it did not match (a half-open one still matches, so its probe can
   * go). Applies to a list of routes; a route function can ask `breaker.state(model)` itself.
   * @default none
   */
  readonly breaker?: Pick<CircuitBreakerMiddleware, 'state'> | undefined;
}

const KEYS = optionNames<RouterOptions>({ routes: true, default: true, breaker: true });

/**
 * Picks the model per request and rewrites `ctx.request.model`, so every layer inside it, the
 * `dispatched`/`completed` events and `ctx.model.resolved` show the routed model, while
 * `ctx.model.requested` keeps the one the caller asked for. Mount `fallback()` after the router
 * to fall back from the routed model; mount it before to route each model the fallback tries.
 *
 * @example
 * app.use(router({
 *   routes: [{ when: (req) => (req.tools?.length ?? 0) > 0, model: 'gpt-5' }],
 *   default: 'gpt-5-mini',
 * }));
 */
export function router(options: RouterOptions): Middleware {
  checkKeys('router()', options, KEYS);
  const { routes, default: fallbackModel, breaker } = options ?? ({} as RouterOptions);
  if (breaker !== undefined && typeof breaker?.state !== 'function') {
    throw new TypeError(`router(): expected \`breaker\` to be a circuitBreaker(), got ${describeValue(breaker)}.`);
  }
  const pick = toPicker(routes, breaker);
  if (fallbackModel !== undefined && !isModelId(fallbackModel)) {
    throw new TypeError(
      `router(): expected \`default\` to be a non-empty model id string, got ${describeValue(fallbackModel)}. Omit it to keep the requested model when no route matches.`,
    );
  }

  return defineMiddleware({
    name: 'router',
    async call(ctx, next) {
      const picked = (await pick(ctx.request, ctx)) ?? fallbackModel;
      if (picked !== undefined && !isModelId(picked)) {
        throw new MiddlewareError(
          'router',
          `router: the route function returned ${describeValue(picked)} for model \`${ctx.request.model}\`. Return a non-empty model id, or undefined to use \`default\`.`,
        );
      }
      if (picked !== undefined && picked !== ctx.request.model) ctx.update((draft) => void (draft.model = picked));
      return next();
    },
  });
}

function toPicker(routes: RouterOptions['routes'], breaker: RouterOptions['breaker']): RouteFunction {
  if (typeof routes === 'function') return routes;
  if (!Array.isArray(routes) || routes.length === 0) {
    throw new TypeError(
      `router(): expected \`routes\` to be a non-empty array of { when, model } or a function (request, ctx) => model, got ${describeValue(routes)}.`,
    );
  }
  routes.forEach((route: Route, i) => {
    if (typeof route !== 'object' || route === null || typeof route.when !== 'function') {
      throw new TypeError(
        `router(): expected \`routes[${i}].when\` to be a function (request, ctx) => boolean, got ${describeValue(route?.when)}.`,
      );
    }
    if (!isModelId(route.model)) {
      throw new TypeError(
        `router(): expected \`routes[${i}].model\` to be a non-empty model id string, got ${describeValue(route.model)}.`,
      );
    }
  });
  // A copy, so a caller editing their array later cannot change a running router.
  const rules = [...routes];
  return async (request, ctx) => {
    for (const rule of rules) {
      if (!(await rule.when(request, ctx))) continue;
      if (breaker && (await breaker.state(rule.model, { signal: ctx.signal })) === 'open') continue;
      return rule.model;
    }
    return undefined;
  };
}

function isModelId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}
