package dev.relay.server.logging;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.classic.util.ContextInitializer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The logging set up in code gives exactly the lines and levels of the XML configuration it replaced. */
class LogSetupTest {
    private static final String[] PROPERTIES = {"RELAY_LOG_FORMAT", "RELAY_LOG_LEVEL", "logback.configurationFile"};
    private static final Exception BOOM = new IllegalStateException("boom"); // one stack trace for both sides
    private final String[] saved = Arrays.stream(PROPERTIES).map(System::getProperty).toArray(String[]::new);

    @AfterEach
    void restore() {
        for (int i = 0; i < PROPERTIES.length; i++) {
            if (saved[i] == null) {
                System.clearProperty(PROPERTIES[i]);
            } else {
                System.setProperty(PROPERTIES[i], saved[i]);
            }
        }
        AddressMask.enable(false);
    }

    private static void set(String name, String value) {
        if (value == null) {
            System.clearProperty(name);
        } else {
            System.setProperty(name, value);
        }
    }

    /** A context as Logback's service provider makes it. */
    private static LoggerContext newContext() {
        LoggerContext context = new LoggerContext();
        context.setMDCAdapter(new ch.qos.logback.classic.util.LogbackMDCAdapter());
        return context;
    }

    private static LoggerContext fromXml(String format, String level) throws Exception {
        set("RELAY_LOG_FORMAT", format);
        set("RELAY_LOG_LEVEL", level);
        LoggerContext context = newContext();
        JoranConfigurator joran = new JoranConfigurator();
        joran.setContext(context);
        joran.doConfigure(LogSetupTest.class.getResource("reference-logback.xml"));
        return context;
    }

    private static LoggerContext fromCode(String format, String level) {
        LoggerContext context = newContext();
        LogSetup.apply(context, format, level);
        return context;
    }

    /** What the context writes to stderr for a few events with fixed times, one with a stack trace. */
    private static String lines(LoggerContext context) {
        PrintStream stderr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        System.setErr(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            Logger logger = context.getLogger("dev.relay.core.queue.QueueManager");
            Object[][] events = {
                    {Level.INFO, "{}: delivered to {} for jane.doe@example.com", new Object[] {"Q1", "smarthost"}, null},
                    {Level.WARN, "upstream {} said \"no\"", new Object[] {"a\tb"}, null},
                    {Level.ERROR, "{}: failed", new Object[] {"Q2"}, BOOM},
                    {Level.DEBUG, "hidden at INFO", new Object[0], null},
            };
            long time = 1_790_000_000_123L;
            for (Object[] e : events) {
                LoggingEvent event = new LoggingEvent(Logger.class.getName(), logger, (Level) e[0], (String) e[1],
                        (Throwable) e[3], (Object[]) e[2]);
                event.setTimeStamp(time += 1000);
                if (logger.isEnabledFor((Level) e[0])) {
                    logger.callAppenders(event);
                }
            }
            context.getLogger("io.netty.channel").info("netty below WARN is hidden");
        } finally {
            System.setErr(stderr);
            context.stop();
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void textAndJsonLinesAreThoseOfTheXmlConfigurationWithAndWithoutMasking() throws Exception {
        for (String format : List.of("text", "json")) {
            for (boolean mask : List.of(false, true)) {
                AddressMask.enable(mask);
                String expected = lines(fromXml(format, null));
                assertThat(lines(fromCode(format, null))).as(format + " mask=" + mask).isEqualTo(expected);
                assertThat(expected).contains(mask ? "j***@example.com" : "jane.doe@example.com")
                        .contains("boom").doesNotContain("hidden");
            }
        }
        assertThat(lines(fromCode("json", null))).contains("\"time\":").doesNotContain("level_value");
    }

    @Test
    void rootLevelFollowsRelayLogLevelAsInTheXmlConfiguration() throws Exception {
        List<String> levels = new java.util.ArrayList<>(List.of("debug", "WARN", "off", "trace", "", "bogus"));
        if (System.getenv("RELAY_LOG_LEVEL") == null) {
            levels.add(null); // unset: INFO
        }
        for (String level : levels) {
            Level expected = fromXml("text", level).getLogger(Logger.ROOT_LOGGER_NAME).getLevel();
            LoggerContext code = fromCode("text", level);
            assertThat(code.getLogger(Logger.ROOT_LOGGER_NAME).getLevel()).as("RELAY_LOG_LEVEL=" + level)
                    .isEqualTo(expected);
            assertThat(code.getLogger("org.subethamail").getLevel()).isEqualTo(Level.WARN);
        }
    }

    @Test
    void logbackFindsItBeforeAnyXmlAndStepsAsideForAConfigurationFile() throws Exception {
        set("RELAY_LOG_FORMAT", "json");
        LoggerContext context = newContext();
        new ContextInitializer(context).autoConfig();
        assertThat(context.getLogger(Logger.ROOT_LOGGER_NAME).getAppender("json")).isNotNull();

        set("logback.configurationFile", "/somewhere/logback.xml");
        LogSetup setup = new LogSetup();
        LoggerContext other = newContext();
        setup.setContext(other);
        assertThat(setup.configure(other)).isEqualTo(Configurator.ExecutionStatus.INVOKE_NEXT_IF_ANY);
        assertThat(other.getLogger(Logger.ROOT_LOGGER_NAME).iteratorForAppenders().hasNext()).isFalse();
    }
}
