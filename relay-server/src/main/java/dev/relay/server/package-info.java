/**
 * The {@code relay} process: the command line ({@code Main}, one subcommand per job: {@code serve}, {@code sink},
 * {@code passwd}, {@code check-config}, {@code queue}, {@code doctor}) and the wiring of a running relay
 * ({@code RelayServer}: spool, delivery engine, queue manager, listeners, admin endpoint, in that start order and
 * the reverse stop order), with its live reload ({@code ConfigReloader}, {@code ReloadPlan}).
 *
 * <p>Guarantee: the only package that knows every stage; no other package of the relay imports it.
 */
package dev.relay.server;
