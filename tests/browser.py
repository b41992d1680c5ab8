"The headless Chromium that the docs and JupyterLab suites drive (Debian's `chromium` and `chromium-driver`)."
import os, shutil
import pytest


def browser_paths():
    "The system browser and its driver, or None for each that is missing."
    chrome = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
    return chrome, shutil.which("chromedriver")


def need_browser():
    "Skip (not pass) the calling test where there is no browser, driver or Selenium."
    chrome, driver = browser_paths()
    if not (chrome and driver): pytest.skip("no chromium/chromedriver: apt-get install chromium chromium-driver")
    pytest.importorskip("selenium")


def headless_chrome(*args):
    "A Selenium driver for the system Chromium, headless, with `args` added to the common ones."
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    os.environ.setdefault("SE_OFFLINE", "true")   # never let Selenium Manager look for a browser or driver online
    chrome, driver = browser_paths()
    opts = webdriver.ChromeOptions()
    opts.binary_location = chrome
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", *args):
        opts.add_argument(a)
    d = webdriver.Chrome(service=Service(driver), options=opts)
    d.set_page_load_timeout(120)
    d.set_script_timeout(60)
    return d
