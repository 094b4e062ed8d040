// A local declaration instead of @types/koa-compose, which pulls in Koa's types (TOOLCHAIN.md).
declare module 'koa-compose' {
  type ComposedMiddleware<T> = (context: T, next?: (context: T) => unknown) => Promise<void>;
  type KoaMiddleware<T> = (context: T, next: () => Promise<void>) => unknown;
  function compose<T>(middleware: readonly KoaMiddleware<T>[]): ComposedMiddleware<T>;
  export default compose;
}
