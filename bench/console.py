"""P10: the console's first paint in Chromium, for a big tree (bench/run.sh --only=P10).

    python bench/console.py API OWNER_EMAIL OWNER_PASSWORD ACCOUNT_ID

Makes an admin of ACCOUNT_ID (the seeded 10,001-account tree), then in headless Chromium logs
in as that admin and as the owner (who sees every seeded account) and reloads the console five
times each. Prints one line: the admin's median first paint in ms, its account count, the
owner's median first paint in ms, its account count. A first paint is the page's own
`accountd-tree` mark: from navigation to the tree drawn, the refresh-token exchange and every
page of GET /v1/accounts included.
"""

import statistics
import sys

import requests
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

api, owner, owner_password, account = sys.argv[1:5]
PASSWORD = "bench-console-pw"

token = requests.post(f"{api}/user/login", json={"email": owner, "password": owner_password}, timeout=30).json()["token"]
admin = f"console-admin@{account}.bench.test"
r = requests.post(
    f"{api}/user/create",
    headers={"Authorization": f"Bearer {token}"},
    json={"email": admin, "role": "admin", "password": PASSWORD, "accountId": account},
    timeout=30,
)
assert r.status_code in (201, 409), r.text

opts = webdriver.ChromeOptions()
opts.binary_location = "/usr/bin/chromium"
for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"):
    opts.add_argument(arg)
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
wait = WebDriverWait(driver, 120)


def first_paints(email, password):
    driver.get(f"{api}/console")
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#login-form"))
    driver.find_element(By.CSS_SELECTOR, "#login-form [name=login]").send_keys(email)
    driver.find_element(By.CSS_SELECTOR, "#login-form [name=password]").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "#login-form button[type=submit]").click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#tree li"))
    times = []
    for _ in range(5):
        driver.refresh()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#tree li"))
        times.append(driver.execute_script("return performance.getEntriesByName('accountd-tree')[0].startTime"))
    count = driver.find_element(By.ID, "tree-count").text.split()[0]
    driver.find_element(By.ID, "logout").click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#login-form"))
    return round(statistics.median(times)), count


try:
    admin_ms, admin_n = first_paints(admin, PASSWORD)
    owner_ms, owner_n = first_paints(owner, owner_password)
    print(admin_ms, admin_n, owner_ms, owner_n)
finally:
    driver.quit()
