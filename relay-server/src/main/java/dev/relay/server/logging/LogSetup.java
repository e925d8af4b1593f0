package dev.relay.server.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ConfiguratorRank;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.CoreConstants;
import ch.qos.logback.core.encoder.Encoder;
import ch.qos.logback.core.pattern.DynamicConverter;
import ch.qos.logback.core.spi.ContextAwareBase;
import ch.qos.logback.core.status.NopStatusListener;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;
import net.logstash.logback.encoder.LogstashEncoder;
import net.logstash.logback.fieldnames.LogstashFieldNames;
import net.logstash.logback.mask.MaskingJsonGeneratorDecorator;

/**
 * The relay's logging set up in code, found by Logback through {@code META-INF/services} before it looks for a
 * {@code logback.xml}: parsing XML (Joran and the JDK's XML parser, some 600 classes) was a quarter of a second of
 * every start. It builds what {@code src/test/resources/dev/relay/server/logging/reference-logback.xml} describes,
 * and {@code LogSetupTest} checks that both give the same lines:
 * <ul>
 *   <li>one console appender on stderr: the text pattern
 *       {@code %d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %-5level %logger{0}: %maskedMsg%n}, or with
 *       {@code RELAY_LOG_FORMAT=json} (which {@code Main} sets from {@code --log-format}) one JSON object per line
 *       (Logstash encoder: {@code time} for the timestamp, no context, version or level value, addresses masked
 *       when configured);</li>
 *   <li>the root level from {@code RELAY_LOG_LEVEL} (system property or environment variable, default INFO; a
 *       value Logback does not know means DEBUG, as in the XML); {@code org.subethamail} and {@code io.netty} at
 *       WARN;</li>
 *   <li>Logback's status messages silenced.</li>
 * </ul>
 * With {@code -Dlogback.configurationFile=FILE} (e.g. in RELAY_JAVA_OPTS) it steps aside and that file is used.
 */
@ConfiguratorRank(ConfiguratorRank.CUSTOM_HIGH_PRIORITY)
public final class LogSetup extends ContextAwareBase implements Configurator {
    static final String TEXT_PATTERN = "%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %-5level %logger{0}: %maskedMsg%n";

    @Override
    public ExecutionStatus configure(LoggerContext context) {
        if (System.getProperty("logback.configurationFile") != null) {
            return ExecutionStatus.INVOKE_NEXT_IF_ANY;
        }
        apply(context, variable("RELAY_LOG_FORMAT"), variable("RELAY_LOG_LEVEL"));
        return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
    }

    /** As Logback resolves {@code ${NAME}}: a system property first, then the environment. */
    private static String variable(String name) {
        String value = System.getProperty(name);
        return value != null ? value : System.getenv(name);
    }

    /**
     * Configures {@code context}: {@code format} "json" or else text; {@code level} null for INFO, blank for
     * Logback's default (DEBUG), else a level name.
     */
    static void apply(LoggerContext context, String format, String level) {
        context.getStatusManager().add(new NopStatusListener());

        ConsoleAppender<ILoggingEvent> appender = new ConsoleAppender<>();
        appender.setContext(context);
        boolean json = "json".equals(format);
        appender.setName(json ? "json" : "text");
        appender.setTarget("System.err");
        appender.setEncoder(json ? jsonEncoder(context) : textEncoder(context));
        appender.start();

        context.getLogger("org.subethamail").setLevel(Level.WARN);
        context.getLogger("io.netty").setLevel(Level.WARN);
        ch.qos.logback.classic.Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        String name = level == null ? "INFO" : level;
        if (!name.isBlank()) {
            root.setLevel(Level.toLevel(name));
        }
        root.addAppender(appender);
    }

    private static Encoder<ILoggingEvent> textEncoder(LoggerContext context) {
        @SuppressWarnings("unchecked")
        Map<String, Supplier<DynamicConverter<?>>> rules = (Map<String, Supplier<DynamicConverter<?>>>)
                context.getObject(CoreConstants.PATTERN_RULE_REGISTRY_FOR_SUPPLIERS);
        if (rules == null) {
            rules = new HashMap<>();
            context.putObject(CoreConstants.PATTERN_RULE_REGISTRY_FOR_SUPPLIERS, rules);
        }
        rules.put("maskedMsg", MaskingMessageConverter::new);
        PatternLayoutEncoder encoder = new PatternLayoutEncoder();
        encoder.setContext(context);
        encoder.setPattern(TEXT_PATTERN);
        encoder.start();
        return encoder;
    }

    private static Encoder<ILoggingEvent> jsonEncoder(LoggerContext context) {
        LogstashEncoder encoder = new LogstashEncoder();
        encoder.setContext(context);
        encoder.setIncludeContext(false);
        MaskingJsonGeneratorDecorator masking = new MaskingJsonGeneratorDecorator();
        masking.addValueMasker(new AddressValueMasker());
        masking.start();
        encoder.setJsonGeneratorDecorator(masking);
        LogstashFieldNames names = new LogstashFieldNames();
        names.setTimestamp("time");
        names.setVersion("[ignore]");
        names.setLevelValue("[ignore]");
        encoder.setFieldNames(names);
        encoder.start();
        return encoder;
    }
}
