/**
 * The query string of a request to the admin endpoint, decoded the one way the queue API, the history API and the
 * web console all read it.
 */
package dev.relay.server.admin.query;
