/**
 * The relay's configuration: a YAML file, every key overridable by a {@code RELAY_*} environment variable, and
 * every secret also readable from a file.
 *
 * <p>What this package guarantees:
 * <ul>
 *   <li>A {@link dev.relay.config.RelayConfig} only exists if it is valid: its canonical constructor and
 *       {@link dev.relay.config.ConfigLoader#load} run the same rules and throw a
 *       {@link dev.relay.config.ConfigException} listing <em>every</em> problem, each with its key path
 *       ({@code upstreams[0].url}), the offending value (secrets as {@code ****}) and the fix in plain words.</li>
 *   <li>Unknown YAML keys and unknown {@code RELAY_*} variables are errors, never silently ignored; the
 *       variables {@code RELAY_JAVA}, {@code RELAY_JAVA_OPTS}, {@code RELAY_CDS_ARCHIVE}, {@code RELAY_AOT_CACHE},
 *       {@code RELAY_LOG_FORMAT} and the like belong to the
 *       launcher and are ignored.</li>
 *   <li>Variable names are derived from the key tree ({@code RELAY_} + the key path in upper snake case, list
 *       items by index: {@code RELAY_UPSTREAMS_0_PASSWORD_FILE}); there is no hand-written table.</li>
 *   <li>The relay is never an open relay (users file or trusted networks required), never uses port 25
 *       upstream, and never speaks without TLS except to or on a loopback address.</li>
 *   <li>Secrets never appear in {@code toString()}, in {@link dev.relay.config.RelayConfig#toMaskedYaml()} or in
 *       problem messages.</li>
 *   <li>Nothing here opens sockets or does DNS lookups; only secret files are read (certificates, keys, the
 *       users file and CA bundles are paths, read by their users).</li>
 * </ul>
 */
package dev.relay.config;
