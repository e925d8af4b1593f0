package dev.relay.server.admin;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.config.MeterFilterReply;
import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;

/**
 * Keeps {@code /metrics} within Prometheus' naming rules ({@code promtool check metrics}): Micrometer's own
 * binders emit two names it rejects. {@code process.cpu.time} is counted in nanoseconds
 * ({@code process_cpu_time_ns_total}: an abbreviated, non-base unit); it is replaced by the conventional
 * {@code process_cpu_seconds_total}. {@code system.cpu.count} ends in {@code _count}, a suffix reserved for
 * histograms and summaries; it is published as {@code system_cpus}.
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
    }
}
