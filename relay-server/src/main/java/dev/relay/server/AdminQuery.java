package dev.relay.server;

import java.util.concurrent.Callable;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * A command that reads the admin API of a running relay ({@code relay history}, {@code relay trace}): the admin
 * endpoint's options ({@link AdminClient}) and {@code --json}.
 */
abstract class AdminQuery implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    AdminClient client;

    @Option(names = "--json", description = "Print the API's JSON.")
    boolean json;
}
