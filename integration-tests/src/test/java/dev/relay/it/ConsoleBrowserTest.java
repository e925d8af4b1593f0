package dev.relay.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.relay.config.ConfigLoader;
import dev.relay.config.RelayConfig;
import dev.relay.core.model.QueueId;
import dev.relay.core.queue.QueueAdmin;
import dev.relay.core.spool.QueueState;
import dev.relay.server.RelayServer;
import dev.relay.server.setup.DemoSetup;
import dev.relay.server.sink.CaptureSink;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;

/**
 * The web console in a real browser: on the demo defaults (loopback, no token) the overview, a message just sent
 * found in the history, its timeline with the capture sink's reply, and the sink's copy of it; with an admin token
 * (as a bind off loopback requires; the test stays on loopback) the login form, then a queued message held and
 * released through the confirm pages.
 */
class ConsoleBrowserTest {
    private static final String TOKEN = "console-admin-token";

    @TempDir
    Path dir;

    CaptureSink sink;
    RelayServer relay;
    Browser browser;

    @AfterEach
    void stop() {
        if (browser != null) {
            browser.close();
        }
        if (relay != null) {
            relay.close();
        }
        if (sink != null) {
            sink.close();
        }
    }

    /** Waits for the page a click or a form opened (a click may return before the next page has loaded). */
    private void awaitTitle(String title) {
        await().atMost(Duration.ofSeconds(15)).until(() -> browser.driver.getTitle().equals(title));
    }

    /** Waits until the element {@code css} is on the page and its text contains {@code part}. */
    private void awaitText(String css, String part) {
        await().atMost(Duration.ofSeconds(15)).ignoreExceptions().until(() -> browser.driver
                .findElement(By.cssSelector(css)).getText().contains(part));
    }

    private String text(String css) {
        try {
            return browser.driver.findElement(By.cssSelector(css)).getText();
        } catch (org.openqa.selenium.NoSuchElementException e) {
            throw new AssertionError("no " + css + " in " + browser.driver.getCurrentUrl() + ":\n"
                    + browser.driver.getPageSource(), e);
        }
    }

    @Test
    void onTheDemoDefaultsAMessageJustSentShowsInTheHistoryItsTimelineAndTheOutbox() throws Exception {
        DemoSetup.Ports ports = new DemoSetup.Ports(Loopback.freePort(), Loopback.freePort(), Loopback.freePort(),
                Loopback.freePort());
        DemoSetup demo = DemoSetup.prepare(dir, ports);
        sink = demo.startSink();
        relay = RelayServer.start(demo.config());
        relay.showDemoOutbox(demo.outbox());
        browser = new Browser();
        String console = "http://127.0.0.1:" + ports.admin();

        Loopback.submit(ports.submission(), Loopback.Tls.STARTTLS, DemoSetup.DEMO_USER, demo.demoPassword(),
                "newcomer@example.com", "friend@example.org", "first message through relay", "it works");
        await().atMost(Duration.ofSeconds(20)).until(() -> relay.registry().find("relay.messages.delivered")
                .counter().count() >= 1);

        browser.open(console + "/");
        assertThat(browser.driver.getTitle()).isEqualTo("Overview · relay");
        assertThat(text("#queue-states")).contains("incoming", "deferred", "hold");
        assertThat(text("#certificate")).contains("expires on");
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            browser.driver.navigate().refresh(); // the history is written off the 250 path, within moments
            return text("#upstreams").contains("delivered 1");
        });
        browser.screenshot("overview");
        browser.phoneScreenshot("overview-phone");

        // the history's search form finds it by sender; its id opens the timeline
        browser.open(console + "/history");
        browser.driver.findElement(By.name("sender")).sendKeys("newcomer@example.com");
        browser.driver.findElement(By.id("search")).click();
        awaitText("#history", "<newcomer@example.com>");
        assertThat(text("#history")).contains("delivered", "<newcomer@example.com>", "friend@example.org");
        browser.screenshot("history");
        browser.driver.findElement(By.cssSelector("a.trace")).click();
        awaitTitle("Timeline · relay");
        assertThat(text(".event-received")).contains("received");
        assertThat(text(".event-attempt")).contains("<friend@example.org>", "250");
        assertThat(text(".event-delivered")).contains("friend@example.org");
        browser.screenshot("timeline");

        // the capture sink's copy: headers and text (the demo view is the only one that shows a body)
        browser.open(console + "/demo");
        assertThat(text("#demo")).contains("first message through relay", "<friend@example.org>");
        browser.screenshot("demo");
        browser.driver.findElement(By.cssSelector("#demo a")).click();
        awaitText("#text", "it works");
        assertThat(text("main")).contains("X-Sink-Envelope-From");
        browser.screenshot("demo-message");
    }

    @Test
    void withATokenTheConsoleLogsInAndHoldsAndReleasesAQueuedMessage() throws Exception {
        TestRelay setup = new TestRelay(dir);
        // nothing listens on the upstream port: the message stays deferred for an hour
        setup.config("smtp://relay@127.0.0.1:" + Loopback.freePort(), "x", setup.cert, Duration.ofHours(1));
        RelayConfig config = ConfigLoader.load(dir.resolve("relay.yaml"), Map.of("RELAY_ADMIN_TOKEN", TOKEN))
                .config();
        relay = RelayServer.start(config);
        browser = new Browser();
        String console = "http://127.0.0.1:" + setup.adminPort;
        Loopback.submit(setup.submissionPort, Loopback.Tls.STARTTLS, TestRelay.USER, TestRelay.PASSWORD,
                "app@example.com", "b@example.org", "held back", "hello");
        await().atMost(Duration.ofSeconds(10)).until(() -> !relay.queue().admin().list(new QueueAdmin.Filter(
                Set.of(QueueState.DEFERRED), null, null, null)).isEmpty());
        QueueId id = relay.queue().admin().list(QueueAdmin.Filter.ALL).get(0).id();

        // without the cookie every page is the login form; a wrong token is refused
        browser.open(console + "/queue");
        assertThat(browser.driver.getTitle()).isEqualTo("Log in · relay");
        browser.screenshot("login");
        browser.driver.findElement(By.id("token")).sendKeys("wrong");
        browser.driver.findElement(By.id("login")).click();
        awaitText(".error", "not the admin token");
        browser.driver.findElement(By.id("token")).sendKeys(TOKEN);
        browser.driver.findElement(By.id("login")).click();
        awaitTitle("Overview · relay");
        assertThat(browser.driver.manage().getCookieNamed("relay_console").isHttpOnly()).isTrue();
        assertThat(browser.driver.manage().getCookieNamed("relay_console").getSameSite()).isEqualTo("Strict");

        browser.open(console + "/queue?state=deferred");
        assertThat(text("#q-" + id.value())).contains("deferred", "<app@example.com>", "b@example.org");
        browser.screenshot("queue");
        browser.driver.findElement(By.id("hold-" + id.value())).click();
        awaitText("main", "hold message " + id.value());
        browser.screenshot("confirm");
        browser.driver.findElement(By.id("confirm")).click();
        awaitText("#notice", id.value() + ": moved from deferred to hold");
        assertThat(relay.queue().admin().show(id).orElseThrow().state()).isEqualTo(QueueState.HOLD);
        assertThat(text("#q-" + id.value() + " .state")).isEqualTo("hold");

        browser.driver.findElement(By.id("release-" + id.value())).click();
        awaitText("main", "release message " + id.value());
        browser.driver.findElement(By.id("confirm")).click();
        awaitText("#notice", id.value() + ": moved from hold to incoming");
        assertThat(relay.queue().admin().show(id).orElseThrow().state()).isNotEqualTo(QueueState.HOLD);

        // both actions are in the message's timeline, by the token holder
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            browser.open(console + "/history/" + id.value());
            return text("main").contains("release");
        });
        assertThat(text(".event-hold")).contains("console: token holder at 127.0.0.1");
        assertThat(text(".event-release")).contains("console: token holder at 127.0.0.1");

        browser.driver.findElement(By.id("logout")).click();
        awaitTitle("Log in · relay");
        browser.open(console + "/queue"); // the session is over
        assertThat(browser.driver.getTitle()).isEqualTo("Log in · relay");
    }
}
