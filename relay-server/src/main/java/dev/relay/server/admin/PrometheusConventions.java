package dev.relay.server.admin;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.config.MeterFilterReply;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Keeps {@code /metrics} within Prometheus' naming rules ({@code promtool check metrics}): Micrometer's own
 * binders emit two names it rejects. {@code process.cpu.time} is counted in nanoseconds
 * ({@code process_cpu_time_ns_total}: an abbreviated, non-base unit); it is replaced by the conventional
 * {@code process_cpu_seconds_total}. {@code system.cpu.count} ends in {@code _count}, a suffix reserved for
 * histograms and summaries; it is published as {@code system_cpus}. It also adds two figures of the process that
 * Prometheus' own clients export and Micrometer does not: {@code process_resident_memory_bytes} (the resident set,
 * from {@code /proc/self/status}, on Linux) and {@code jvm_allocated_bytes_total} (bytes allocated on the Java heap by
 * all threads, ended ones included: the allocation rate per message is this over {@code relay_messages_received}).
 */
public final class PrometheusConventions {
    private PrometheusConventions() {
    }

    /** Installs the filters; call before any binder registers its meters. */
    public static void apply(MeterRegistry registry) {
        registry.config().meterFilter(new MeterFilter() {
            @Override
            public MeterFilterReply accept(Meter.Id id) {
                return id.getName().equals("process.cpu.time") ? MeterFilterReply.DENY : MeterFilterReply.NEUTRAL;
            }

            @Override
            public Meter.Id map(Meter.Id id) {
                return id.getName().equals("system.cpu.count") ? id.withName("system.cpus") : id;
            }
        });
        OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean sun && sun.getProcessCpuTime() >= 0) {
            FunctionCounter.builder("process.cpu", sun, b -> b.getProcessCpuTime() / 1e9)
                    .baseUnit("seconds")
                    .description("CPU time used by the relay's process")
                    .register(registry);
        }
        if (ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean threads
                && threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled()) {
            FunctionCounter.builder("jvm.allocated", threads, t -> (double) t.getTotalThreadAllocatedBytes())
                    .baseUnit("bytes")
                    .description("Bytes allocated on the Java heap by all threads since the start (an approximation)")
                    .register(registry);
        }
        if (residentBytes() >= 0) {
            Gauge.builder("process.resident.memory", PrometheusConventions::residentBytes)
                    .baseUnit("bytes")
                    .description("Resident set size of the relay's process (RSS)")
                    .register(registry);
        }
    }

    private static final Path STATUS = Path.of("/proc/self/status");

    /** The resident set in bytes ({@code VmRSS} of /proc/self/status, in KiB), or -1 where there is none. */
    static double residentBytes() {
        try {
            for (String line : Files.readAllLines(STATUS)) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.substring(6).trim().split("\\s+")[0]) * 1024.0;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: no figure
        }
        return -1;
    }
}
