/**
 * From a configuration to what the relay runs on, below every command: where the configuration comes from
 * ({@code ConfigSource}; the options that choose it, {@code ConfigChoice}), the demo defaults ({@code DemoSetup}),
 * the check of the files it names ({@code Preflight}) and the upstreams as the delivery engine takes them
 * ({@code UpstreamTargets}).
 *
 * <p>Guarantee: nothing here opens the spool or an SMTP listener (only {@code DemoSetup.startSink} starts
 * something: the demo's capture sink); the commands ({@code dev.relay.server}) and {@code doctor} use this
 * package, it uses neither.
 */
package dev.relay.server.setup;
