package dev.relay.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * Headless Chromium driven by Selenium through Debian's chromedriver (packages chromium and chromium-driver, which
 * .ci/run installs): skipped where they are missing, failed under CI=true ({@link RequiredTool}). Screenshots go
 * to {@code integration-tests/target/console/}; docs/console/ holds copies of them.
 */
final class Browser implements AutoCloseable {
    final ChromeDriver driver;
    private final Path screenshots;

    Browser() throws IOException {
        Path chromedriver = RequiredTool.find("chromedriver", "apt-get install chromium-driver");
        Path chromium = RequiredTool.find("chromium", "apt-get install chromium");
        ChromeOptions options = new ChromeOptions();
        options.setBinary(chromium.toFile());
        // root has no sandbox in a container; no GPU, no first-run dialogs, nothing fetched from the network
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--no-first-run", "--disable-extensions", "--disable-background-networking", "--window-size=1100,1000");
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(chromedriver.toFile())
                .usingAnyFreePort().build();
        driver = new ChromeDriver(service, options);
        driver.manage().timeouts().pageLoadTimeout(Duration.ofSeconds(30));
        screenshots = Files.createDirectories(Path.of("target", "console"));
    }

    void open(String url) {
        driver.get(url);
    }

    /** The page as it is now, as {@code name}.png. */
    void screenshot(String name) throws IOException {
        Files.write(screenshots.resolve(name + ".png"), driver.getScreenshotAs(OutputType.BYTES));
    }

    /** The page at a phone's width (390 CSS pixels), as {@code name}.png, then back to the desktop width. */
    void phoneScreenshot(String name) throws IOException {
        Dimension before = driver.manage().window().getSize();
        driver.manage().window().setSize(new Dimension(390, 844));
        screenshot(name);
        driver.manage().window().setSize(before);
    }

    @Override
    public void close() {
        driver.quit();
    }
}
