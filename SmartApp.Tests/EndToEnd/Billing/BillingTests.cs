using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SmartApp.Tests.EndToEnd;

/// <summary>Billing through the dev host: Checkout, Stripe's signed webhooks against a fake Stripe API, and plan quotas.</summary>
[Collection(DevHostCollection.Name)]
public sealed class BillingTests(DevHostFixture app)
{
    private async Task<HttpResponseMessage> DeliverAsync((string Body, string Signature) delivery)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "billing/webhook") { Content = new StringContent(delivery.Body, Encoding.UTF8, "application/json") };
        request.Headers.TryAddWithoutValidation("Stripe-Signature", delivery.Signature);
        return await app.Client.SendAsync(request);
    }

    private static async Task<JsonElement> SubscriptionAsync(HttpClient user) => await user.GetFromJsonAsync<JsonElement>("billing/subscription");

    private async Task<(HttpClient User, string UserId, string SubscriptionId, string Customer)> SubscriberAsync()
    {
        var (user, signIn) = await app.SignInAsync(TestUsers.NewEmail("billing"));
        var userId = signIn.GetProperty("user").GetProperty("id").GetString()!;
        return (user, userId, "sub_" + Guid.NewGuid().ToString("N")[..14], "cus_" + Guid.NewGuid().ToString("N")[..14]);
    }

    [Fact]
    public async Task Checkout_then_the_subscription_events_make_the_user_pro()
    {
        var (user, userId, subscriptionId, customer) = await SubscriberAsync();
        Assert.Equal("free", (await SubscriptionAsync(user)).GetProperty("plan").GetString());

        // Stripe may send the browser back only to the app's own origins: a planted link's URL is refused, and nothing is created.
        foreach (var (success, cancel) in new[] { ("https://evil.example/steal", "http://localhost:3000/no"), ("http://localhost:3000/ok", "//evil.example/x"), ("javascript:alert(1)", "/ok") })
        {
            var sessions = app.Stripe.CheckoutSessions.Count;
            using var foreign = await user.PostAsJsonAsync("billing/checkout", new { plan = "pro", successUrl = success, cancelUrl = cancel });
            var problem = await ProblemAssert.IsProblemAsync(foreign, HttpStatusCode.BadRequest, "validation");
            Assert.True(problem.GetProperty("errors").TryGetProperty(success.StartsWith("http://localhost", StringComparison.Ordinal) ? "cancelUrl" : "successUrl", out _), problem.ToString());
            Assert.Equal(sessions, app.Stripe.CheckoutSessions.Count);
        }
        using var checkout = await user.PostAsJsonAsync("billing/checkout", new { plan = "pro", successUrl = "http://localhost:3000/ok", cancelUrl = "/api/console" });
        var url = (await checkout.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("url").GetString();
        Assert.StartsWith("https://checkout.stripe.test/", url);
        var session = app.Stripe.CheckoutSessions.Last(s => s.GetValueOrDefault("client_reference_id") == userId);
        Assert.Equal("subscription", session["mode"]);
        Assert.Equal("http://localhost:3000/ok", session["success_url"]);
        Assert.Equal(new Uri(new Uri(app.State["baseUrl"]), "/api/console").ToString(), session["cancel_url"]);
        Assert.Equal(FakeStripe.ProPrice, session["line_items[0][price]"]);

        // The client's host and scheme reach the app as the host's X-Forwarded-Host/-Proto (in Azure, from the front end's
        // DISGUISED-HOST): a client that sends its own cannot move the return path to another origin.
        using (var spoofed = new HttpRequestMessage(HttpMethod.Post, "billing/checkout") { Content = JsonContent.Create(new { plan = "pro", cancelUrl = "/api/console" }) })
        {
            spoofed.Headers.Add("X-Forwarded-Host", "evil.example");
            spoofed.Headers.Add("X-Forwarded-Proto", "https");
            using var forwarded = await user.SendAsync(spoofed);
            Assert.Equal(HttpStatusCode.OK, forwarded.StatusCode);
            Assert.Equal(new Uri(new Uri(app.State["baseUrl"]), "/api/console").ToString(), app.Stripe.CheckoutSessions.Last(s => s.GetValueOrDefault("client_reference_id") == userId)["cancel_url"]);
        }
        Assert.Equal(userId, session["subscription_data[metadata][userId]"]);

        // The customer pays; Stripe sends checkout.session.completed (the subscription now exists at Stripe).
        app.Stripe.SetSubscription(subscriptionId, customer, "active", userId);
        using var completed = await DeliverAsync(FakeStripe.Event("checkout.session.completed", new JsonObject
        {
            ["id"] = "cs_test_1", ["object"] = "checkout.session", ["mode"] = "subscription", ["status"] = "complete", ["payment_status"] = "paid",
            ["client_reference_id"] = userId, ["customer"] = customer, ["subscription"] = subscriptionId,
        }));
        Assert.Equal(HttpStatusCode.OK, completed.StatusCode);

        var subscription = await SubscriptionAsync(user);
        Assert.Equal("pro", subscription.GetProperty("plan").GetString());
        Assert.Equal("active", subscription.GetProperty("status").GetString());
        Assert.Equal(2000, subscription.GetProperty("entitlements").GetProperty("messagesPerDay").GetInt32());
        Assert.Equal("pro", (await user.GetFromJsonAsync<JsonElement>("me")).GetProperty("plan").GetString());

        using var portal = await user.PostAsync("billing/portal", null);
        Assert.Contains(customer, (await portal.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("url").GetString());
    }

    [Fact]
    public async Task The_same_event_delivered_again_and_concurrently_is_applied_once_with_the_same_result()
    {
        var (user, userId, subscriptionId, customer) = await SubscriberAsync();
        var subscription = app.Stripe.SetSubscription(subscriptionId, customer, "active", userId);
        var delivery = FakeStripe.Event("customer.subscription.created", subscription);

        var answers = new List<JsonElement>();
        for (var i = 0; i < 5; i++)
        {
            using var response = await DeliverAsync(delivery);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            answers.Add(await response.Content.ReadFromJsonAsync<JsonElement>());
        }
        Assert.False(answers[0].GetProperty("alreadyApplied").GetBoolean());
        Assert.All(answers.Skip(1), a => Assert.True(a.GetProperty("alreadyApplied").GetBoolean()));
        var afterFive = (await SubscriptionAsync(user)).ToString();

        var concurrent = FakeStripe.Event("customer.subscription.updated", subscription);
        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => DeliverAsync(concurrent)));
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        foreach (var r in responses) r.Dispose();
        Assert.Equal(afterFive, (await SubscriptionAsync(user)).ToString());
        using var again = await DeliverAsync(concurrent);
        Assert.True((await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("alreadyApplied").GetBoolean());
    }

    [Fact]
    public async Task An_event_whose_stripe_read_failed_is_recorded_as_nothing_and_applied_on_its_retry()
    {
        var (user, userId, subscriptionId, customer) = await SubscriberAsync();
        var delivery = FakeStripe.Event("customer.subscription.created", app.Stripe.SetSubscription(subscriptionId, customer, "active", userId));
        app.Stripe.FailNextFetches(2); // the first attempt and its one quick retry
        using (var failed = await DeliverAsync(delivery))
            Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        Assert.Equal("free", (await SubscriptionAsync(user)).GetProperty("plan").GetString());

        using var retried = await DeliverAsync(delivery);
        Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
        Assert.False((await retried.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("alreadyApplied").GetBoolean());
        Assert.Equal("pro", (await SubscriptionAsync(user)).GetProperty("plan").GetString());
    }

    [Fact]
    public async Task Events_out_of_order_converge_on_stripes_state_and_deletion_drops_to_free()
    {
        var (user, userId, subscriptionId, customer) = await SubscriberAsync();
        var created = app.Stripe.SetSubscription(subscriptionId, customer, "active", userId);
        var createdEvent = FakeStripe.Event("customer.subscription.created", created);
        var updated = app.Stripe.SetSubscription(subscriptionId, customer, "active", userId, cancelAtPeriodEnd: true);
        var updatedEvent = FakeStripe.Event("customer.subscription.updated", updated);

        using (await DeliverAsync(updatedEvent)) { } // the later event arrives first
        using (await DeliverAsync(createdEvent)) { }
        var state = await SubscriptionAsync(user);
        Assert.Equal("pro", state.GetProperty("plan").GetString());
        Assert.True(state.GetProperty("cancelAtPeriodEnd").GetBoolean()); // not overwritten by the older event

        // A failed renewal keeps access while the paid period lasts.
        var pastDue = app.Stripe.SetSubscription(subscriptionId, customer, "past_due", userId, periodEnd: DateTimeOffset.UtcNow.AddDays(3));
        using (await DeliverAsync(FakeStripe.Event("invoice.payment_failed", new JsonObject
        {
            ["id"] = "in_1", ["object"] = "invoice", ["customer"] = customer, ["status"] = "open",
            ["parent"] = new JsonObject { ["type"] = "subscription_details", ["subscription_details"] = new JsonObject { ["subscription"] = subscriptionId } },
        }))) { }
        Assert.Equal(("pro", "past_due"), ((await SubscriptionAsync(user)).GetProperty("plan").GetString(), (await SubscriptionAsync(user)).GetProperty("status").GetString()));

        var deleted = app.Stripe.SetSubscription(subscriptionId, customer, "canceled", userId);
        using (var response = await DeliverAsync(FakeStripe.Event("customer.subscription.deleted", deleted)))
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("free", (await SubscriptionAsync(user)).GetProperty("plan").GetString());
        Assert.Equal("free", (await user.GetFromJsonAsync<JsonElement>("me")).GetProperty("plan").GetString());
    }

    [Fact]
    public async Task Bad_signatures_stale_events_non_events_and_unknown_prices_are_400_and_change_nothing()
    {
        var (user, userId, subscriptionId, customer) = await SubscriberAsync();
        var subscription = app.Stripe.SetSubscription(subscriptionId, customer, "active", userId);
        var good = FakeStripe.Event("customer.subscription.created", subscription);

        async Task Refused((string Body, string Signature) delivery, string field)
        {
            using var response = await DeliverAsync(delivery);
            var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "validation");
            Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
        }

        await Refused((good.Body, FakeStripe.Sign(good.Body, DateTimeOffset.UtcNow, "whsec_wrong")), "Stripe-Signature");
        await Refused((good.Body.Replace("active", "ACTIVE"), good.Signature), "Stripe-Signature"); // tampered body
        await Refused((good.Body, ""), "Stripe-Signature");
        await Refused(FakeStripe.Event("customer.subscription.created", subscription, signedAt: DateTimeOffset.UtcNow.AddMinutes(-10)), "Stripe-Signature"); // replayed, stale
        await Refused(("{\"hello\":\"world\"}", FakeStripe.Sign("{\"hello\":\"world\"}", DateTimeOffset.UtcNow)), "body");
        var unknownPrice = app.Stripe.SetSubscription("sub_unknown_" + Guid.NewGuid().ToString("N")[..8], customer, "active", userId, price: "price_not_ours");
        await Refused(FakeStripe.Event("customer.subscription.created", unknownPrice), "plan");

        Assert.Equal("free", (await SubscriptionAsync(user)).GetProperty("plan").GetString());
        using var checkout = await user.PostAsJsonAsync("billing/checkout", new { plan = "free" });
        await ProblemAssert.IsProblemAsync(checkout, HttpStatusCode.BadRequest, "validation");
        using var portal = await user.PostAsync("billing/portal", null);
        await ProblemAssert.IsProblemAsync(portal, HttpStatusCode.Conflict, "conflict");
    }

    [Fact]
    public async Task A_free_user_over_the_daily_message_limit_gets_429_with_retry_after_and_a_pro_user_does_not()
    {
        var (free, _) = await app.SignInAsync(TestUsers.NewEmail("quota"));
        var (pro, proId, subscriptionId, customer) = await SubscriberAsync();
        using (await DeliverAsync(FakeStripe.Event("customer.subscription.created", app.Stripe.SetSubscription(subscriptionId, customer, "active", proId)))) { }

        foreach (var (user, shouldStop) in new[] { (free, true), (pro, false) })
        {
            using var created = await user.PostAsJsonAsync("chat/conversations", new { });
            var conversation = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();
            for (var i = 0; i < DevHostFixture.FreeMessagesPerDay; i++)
                using (var ok = await user.PostAsJsonAsync($"chat/conversations/{conversation}/messages", new { content = $"message {i}", useMemory = false, useFiles = false }))
                    Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            using var over = await user.PostAsJsonAsync($"chat/conversations/{conversation}/messages", new { content = "one more", useMemory = false, useFiles = false });
            if (shouldStop)
            {
                var problem = await ProblemAssert.IsProblemAsync(over, HttpStatusCode.TooManyRequests, "quota-exceeded");
                Assert.NotNull(over.Headers.RetryAfter?.Delta);
                Assert.Contains("3 chat messages a day", problem.GetProperty("detail").GetString());
            }
            else
            {
                Assert.Equal(HttpStatusCode.OK, over.StatusCode);
            }
        }
    }

    [Fact]
    public async Task A_free_user_at_the_file_limit_gets_402_until_a_file_is_deleted()
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail("quota"));
        var ids = new List<string>();
        for (var i = 0; i < DevHostFixture.FreeFiles; i++)
            ids.Add((await FileTests.UploadAsync(user, Encoding.UTF8.GetBytes($"note {i}"), $"note-{i}.txt", "text/plain")).GetProperty("id").GetString()!);

        using (var content = new StringContent("one too many", Encoding.UTF8, "text/plain"))
        using (var request = new HttpRequestMessage(HttpMethod.Post, "files") { Content = content })
        {
            request.Headers.Add("X-File-Name", "extra.txt");
            using var refused = await user.SendAsync(request);
            var problem = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.PaymentRequired, "quota-exceeded");
            Assert.Contains("10 files", problem.GetProperty("detail").GetString());
        }
        using (var direct = await user.PostAsJsonAsync("files/uploads", new { name = "big.bin", contentType = "application/octet-stream", size = 10 }))
            await ProblemAssert.IsProblemAsync(direct, HttpStatusCode.PaymentRequired, "quota-exceeded");
        Assert.Equal(DevHostFixture.FreeFiles, (await user.GetFromJsonAsync<JsonElement>("files?limit=50")).GetProperty("files").GetArrayLength());

        using (var deleted = await user.DeleteAsync($"files/{ids[0]}")) Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        await FileTests.UploadAsync(user, Encoding.UTF8.GetBytes("room again"), "extra.txt", "text/plain");
    }

    [Fact]
    public async Task A_free_user_past_the_months_model_tokens_gets_429_until_next_month_and_the_subscription_shows_the_spend()
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail("quota"));
        using var created = await user.PostAsJsonAsync("chat/conversations", new { });
        var conversation = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();
        // The fake model reports a prompt token per 4 characters: this one message spends the free month.
        var spendsTheMonth = string.Join(' ', Enumerable.Repeat("words", DevHostFixture.FreeTokensPerMonth * 4 / 6 + 1));
        using (var first = await user.PostAsJsonAsync($"chat/conversations/{conversation}/messages", new { content = spendsTheMonth, useMemory = false, useFiles = false }))
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);

        var usage = (await SubscriptionAsync(user)).GetProperty("usage");
        Assert.True(usage.GetProperty("tokensThisMonth").GetInt64() >= DevHostFixture.FreeTokensPerMonth, usage.ToString());
        Assert.Equal(1, usage.GetProperty("messagesToday").GetInt32());

        using var over = await user.PostAsJsonAsync($"chat/conversations/{conversation}/messages", new { content = "short", useMemory = false, useFiles = false });
        var problem = await ProblemAssert.IsProblemAsync(over, HttpStatusCode.TooManyRequests, "quota-exceeded");
        Assert.Contains($"{DevHostFixture.FreeTokensPerMonth} model tokens a month", problem.GetProperty("detail").GetString());
        var now = DateTimeOffset.UtcNow;
        var untilNextMonth = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(1) - now;
        var retryAfter = over.Headers.RetryAfter?.Delta ?? TimeSpan.Zero;
        Assert.InRange(retryAfter, untilNextMonth - TimeSpan.FromMinutes(1), untilNextMonth + TimeSpan.FromMinutes(1));
        Assert.Equal(1, (await SubscriptionAsync(user)).GetProperty("usage").GetProperty("messagesToday").GetInt32());
    }

    [Fact]
    public async Task A_free_user_at_the_memory_limit_gets_402_for_new_memories_until_one_is_deleted()
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail("quota"));
        var session = await MemoryTests.StartSessionAsync(user);
        using (var procedure = await user.PutAsJsonAsync("memory/procedures/greeting", new { value = "Greet by first name." }))
            Assert.Equal(HttpStatusCode.OK, procedure.StatusCode);
        var ids = new List<string>();
        for (var i = 1; i < DevHostFixture.FreeMemories; i++)
            ids.Add(await MemoryTests.PutAsync(user, session, new { content = $"fact number {i}" }));
        Assert.Equal(DevHostFixture.FreeMemories, (await SubscriptionAsync(user)).GetProperty("usage").GetProperty("memories").GetInt64());

        using (var refused = await user.PostAsJsonAsync($"memory/sessions/{session}/memories", new { content = "one too many" }))
        {
            var problem = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.PaymentRequired, "quota-exceeded");
            Assert.Contains($"{DevHostFixture.FreeMemories} memories", problem.GetProperty("detail").GetString());
        }
        using (var document = await user.PostAsJsonAsync("memory/documents", new { document = new { title = "too many" } }))
            await ProblemAssert.IsProblemAsync(document, HttpStatusCode.PaymentRequired, "quota-exceeded");
        using (var newProcedure = await user.PutAsJsonAsync("memory/procedures/farewell", new { value = "Say goodbye." }))
            await ProblemAssert.IsProblemAsync(newProcedure, HttpStatusCode.PaymentRequired, "quota-exceeded");
        // Changing a procedure the user already has adds no memory.
        using (var changed = await user.PutAsJsonAsync("memory/procedures/greeting", new { value = "Greet by full name." }))
            Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        var listed = await user.GetFromJsonAsync<JsonElement>($"memory/sessions/{session}/memories");
        Assert.Equal(DevHostFixture.FreeMemories - 1, listed.GetProperty("memories").GetArrayLength());

        using (var deleted = await user.DeleteAsync($"memory/sessions/{session}/memories/{ids[0]}")) Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        await MemoryTests.PutAsync(user, session, new { content = "room again" });
    }

    [Fact]
    public async Task A_free_user_at_the_record_limit_gets_402_for_new_records_until_a_table_is_dropped()
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail("quota"));
        for (var i = 0; i < DevHostFixture.FreeRecords; i++)
            using (var created = await user.PostAsJsonAsync($"data/tables/{(i % 2 == 0 ? "even" : "odd")}/records", new { n = i }))
                Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(DevHostFixture.FreeRecords, (await SubscriptionAsync(user)).GetProperty("usage").GetProperty("records").GetInt64());

        using (var refused = await user.PostAsJsonAsync("data/tables/third/records", new { n = 99 }))
        {
            var problem = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.PaymentRequired, "quota-exceeded");
            Assert.Contains($"{DevHostFixture.FreeRecords} data records", problem.GetProperty("detail").GetString());
        }
        // Refused means nothing was written: no record, and no new table either.
        var tables = await user.GetFromJsonAsync<JsonElement>("data/tables");
        Assert.Equal(["even", "odd"], tables.GetProperty("tables").EnumerateArray().Select(t => t.GetProperty("name").GetString()!).Order().ToArray());

        using (var dropped = await user.DeleteAsync("data/tables/odd")) Assert.Equal(HttpStatusCode.NoContent, dropped.StatusCode);
        using (var again = await user.PostAsJsonAsync("data/tables/third/records", new { n = 99 }))
            Assert.Equal(HttpStatusCode.Created, again.StatusCode);
    }

    [Fact]
    public async Task Indexing_work_is_bounded_by_the_plans_passages_per_file_and_per_month()
    {
        var (user, _) = await app.SignInAsync(TestUsers.NewEmail("passages"));
        static byte[] Text(string topic, int sentences) =>
            TestDocuments.Utf8(string.Join(" ", Enumerable.Range(1, sentences).Select(i => $"Sentence {i} of the {topic} notes says something distinct about item {i}.")));

        // A file with more passages than a file may have indexed: the first ones are searchable, the rest reported.
        var first = await FileTests.UploadAsync(user, Text("lighthouse", 900), "long.txt", "text/plain");
        var indexed = await FileTests.WaitForAsync(user, first.GetProperty("id").GetString()!, "indexed", "failed", "notIndexed");
        Assert.Equal("indexed", indexed.GetProperty("status").GetString());
        Assert.Equal(DevHostFixture.FreePassagesPerFile, indexed.GetProperty("chunkCount").GetInt32());
        var notIndexed = indexed.GetProperty("notIndexed");
        Assert.True(notIndexed.GetProperty("passages").GetInt32() > 0);
        Assert.Contains($"first {DevHostFixture.FreePassagesPerFile} passages", notIndexed.GetProperty("reason").GetString());

        // The month's allowance: the next file gets what is left, the one after is refused before any work.
        var second = await FileTests.UploadAsync(user, Text("harbour", 900), "second.txt", "text/plain");
        var partly = await FileTests.WaitForAsync(user, second.GetProperty("id").GetString()!, "indexed", "failed", "notIndexed");
        Assert.Equal(DevHostFixture.FreePassagesPerMonth - DevHostFixture.FreePassagesPerFile, partly.GetProperty("chunkCount").GetInt32());
        Assert.Contains($"{DevHostFixture.FreePassagesPerMonth} file passages a month", partly.GetProperty("notIndexed").GetProperty("reason").GetString());
        var usage = (await SubscriptionAsync(user)).GetProperty("usage");
        Assert.Equal(DevHostFixture.FreePassagesPerMonth, usage.GetProperty("passagesThisMonth").GetInt64());
        Assert.Equal(DevHostFixture.FreePassagesPerFile, (await SubscriptionAsync(user)).GetProperty("entitlements").GetProperty("passagesPerFile").GetInt32());

        using var content = new ByteArrayContent(Text("third", 10));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/plain");
        using var third = new HttpRequestMessage(HttpMethod.Post, "files") { Content = content };
        third.Headers.Add("X-File-Name", "third.txt");
        using var refused = await user.SendAsync(third);
        var problem = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.PaymentRequired, "quota-exceeded");
        Assert.Contains("file passages a month", problem.GetProperty("detail").GetString());
        Assert.Equal(2, (await user.GetFromJsonAsync<JsonElement>("files")).GetProperty("files").GetArrayLength());
        // A file that is only stored, never indexed, is still welcome.
        await FileTests.UploadAsync(user, [0x89, 0x50, 0x4E, 0x47, 1, 2, 3], "photo.png", "image/png");
    }

    private async Task<JsonElement> DeliverAndReadAsync(HttpClient user, string type, JsonObject dataObject, DateTimeOffset? created = null)
    {
        using (var response = await DeliverAsync(FakeStripe.Event(type, dataObject, created: created)))
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{type}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await SubscriptionAsync(user);
    }

    /// <summary>A notice that is not there: left out of the answer, or null.</summary>
    private static bool Absent(JsonElement state, string name) => !state.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null;

    private static DateTimeOffset Seconds(DateTimeOffset at) => DateTimeOffset.FromUnixTimeSeconds(at.ToUnixTimeSeconds());

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // API versions before 2025-03-31: the period end at the top level, invoices naming their subscription at the top level
    public async Task A_trial_that_ends_pauses_resumes_and_needs_authentication_shows_the_user_each_notice(bool legacyShape)
    {
        var (user, userId, subscriptionId, customer) = await SubscriberAsync();
        var trialEnd = Seconds(DateTimeOffset.UtcNow.AddDays(3));

        var trialing = app.Stripe.SetSubscription(subscriptionId, customer, "trialing", userId, periodEnd: trialEnd, trialEnd: trialEnd, legacyShape: legacyShape);
        var state = await DeliverAndReadAsync(user, "customer.subscription.created", trialing);
        Assert.Equal(("pro", "trialing"), (state.GetProperty("plan").GetString(), state.GetProperty("status").GetString()));
        Assert.Equal(trialEnd, state.GetProperty("currentPeriodEnd").GetDateTimeOffset()); // never 1970-01-01, whichever shape
        state = await DeliverAndReadAsync(user, "customer.subscription.trial_will_end", trialing);
        Assert.Equal(trialEnd, state.GetProperty("trialEndsAt").GetDateTimeOffset());

        // The trial ended without a payment method: Stripe pauses the subscription, and the plan's limits go with it.
        var paused = app.Stripe.SetSubscription(subscriptionId, customer, "paused", userId, periodEnd: trialEnd, legacyShape: legacyShape);
        state = await DeliverAndReadAsync(user, "customer.subscription.paused", paused);
        Assert.Equal(("free", "paused"), (state.GetProperty("plan").GetString(), state.GetProperty("status").GetString()));
        Assert.True(Absent(state, "trialEndsAt"), state.ToString());
        Assert.Equal("free", (await user.GetFromJsonAsync<JsonElement>("me")).GetProperty("plan").GetString());

        var periodEnd = Seconds(DateTimeOffset.UtcNow.AddDays(30));
        var active = app.Stripe.SetSubscription(subscriptionId, customer, "active", userId, periodEnd: periodEnd, legacyShape: legacyShape);
        state = await DeliverAndReadAsync(user, "customer.subscription.resumed", active);
        Assert.Equal(("pro", "active"), (state.GetProperty("plan").GetString(), state.GetProperty("status").GetString()));
        Assert.Equal(periodEnd, state.GetProperty("currentPeriodEnd").GetDateTimeOffset());

        // The renewal needs the customer's authentication (3-D Secure): the user is sent to the hosted invoice.
        var invoice = FakeStripe.Invoice(subscriptionId, customer, "open", legacyShape);
        var actionAt = DateTimeOffset.UtcNow.AddSeconds(-30);
        state = await DeliverAndReadAsync(user, "invoice.payment_action_required", invoice, created: actionAt);
        var action = state.GetProperty("actionRequired");
        Assert.Equal((string?)invoice["id"], action.GetProperty("invoiceId").GetString());
        Assert.Equal((string?)invoice["hosted_invoice_url"], action.GetProperty("hostedInvoiceUrl").GetString());
        state = await DeliverAndReadAsync(user, "invoice.payment_failed", invoice, created: actionAt.AddSeconds(1));
        Assert.Equal(Seconds(actionAt.AddSeconds(1)), state.GetProperty("paymentFailedAt").GetDateTimeOffset());
        Assert.Equal("pro", state.GetProperty("plan").GetString());

        invoice["status"] = "paid";
        state = await DeliverAndReadAsync(user, "invoice.paid", invoice);
        Assert.True(Absent(state, "actionRequired"), state.ToString());
        Assert.True(Absent(state, "paymentFailedAt"), state.ToString());
        Assert.Equal(("pro", "active"), (state.GetProperty("plan").GetString(), state.GetProperty("status").GetString()));

        // Stripe does not deliver in order: a notice older than the payment does not come back.
        invoice["status"] = "open";
        state = await DeliverAndReadAsync(user, "invoice.payment_action_required", invoice, created: actionAt.AddSeconds(-5));
        Assert.True(Absent(state, "actionRequired"), state.ToString());
    }

    [Fact]
    public async Task A_redelivered_event_newer_than_the_stored_state_reads_stripe_again()
    {
        var (user, userId, subscriptionId, customer) = await SubscriberAsync();
        // Stripe's clock runs ahead of ours, so the event is newer than the state it produced.
        var delivery = FakeStripe.Event("customer.subscription.updated", app.Stripe.SetSubscription(subscriptionId, customer, "active", userId), created: DateTimeOffset.UtcNow.AddMinutes(5));
        using (await DeliverAsync(delivery)) { }
        Assert.Equal("pro", (await SubscriptionAsync(user)).GetProperty("plan").GetString());

        app.Stripe.SetSubscription(subscriptionId, customer, "canceled", userId); // changed at Stripe; its own event is still on the way
        using var again = await DeliverAsync(delivery);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.True((await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("alreadyApplied").GetBoolean());
        Assert.Equal(("free", "canceled"), ((await SubscriptionAsync(user)).GetProperty("plan").GetString(), (await SubscriptionAsync(user)).GetProperty("status").GetString()));
    }

    [Fact]
    public async Task A_deleted_customer_leaves_the_user_on_the_free_plan_and_a_dispute_changes_nothing()
    {
        var (user, userId, subscriptionId, customer) = await SubscriberAsync();
        await DeliverAndReadAsync(user, "customer.subscription.created", app.Stripe.SetSubscription(subscriptionId, customer, "active", userId));
        var state = await DeliverAndReadAsync(user, "charge.dispute.created", new JsonObject
        {
            ["id"] = "du_" + Guid.NewGuid().ToString("N")[..14], ["object"] = "dispute", ["charge"] = "ch_1", ["amount"] = 1900, ["currency"] = "usd", ["reason"] = "fraudulent", ["status"] = "needs_response",
        });
        Assert.Equal("pro", state.GetProperty("plan").GetString());

        state = await DeliverAndReadAsync(user, "customer.deleted", new JsonObject { ["id"] = customer, ["object"] = "customer", ["deleted"] = true, ["metadata"] = new JsonObject() });
        Assert.Equal(("free", "canceled"), (state.GetProperty("plan").GetString(), state.GetProperty("status").GetString()));
        Assert.Equal("free", (await user.GetFromJsonAsync<JsonElement>("me")).GetProperty("plan").GetString());
    }

    [Fact]
    public async Task Events_the_webhook_never_received_are_recovered_from_stripes_events_list()
    {
        var (user, userId, subscriptionId, customer) = await SubscriberAsync();
        var (bystander, _, _, _) = await SubscriberAsync(); // another user: nothing of the recovered events reaches them
        // The endpoint was down: Stripe created the events, and delivered none of them.
        app.Stripe.Publish("customer.subscription.created", app.Stripe.SetSubscription(subscriptionId, customer, "trialing", userId, trialEnd: DateTimeOffset.UtcNow.AddDays(7)));
        var invoice = FakeStripe.Invoice(subscriptionId, customer, "open");
        var missed = app.Stripe.Publish("invoice.payment_action_required", invoice);
        await Eventually.UntilAsync(async () => !Absent(await SubscriptionAsync(user), "actionRequired"), "the missed events are applied");
        var state = await SubscriptionAsync(user);
        Assert.Equal(("pro", "trialing"), (state.GetProperty("plan").GetString(), state.GetProperty("status").GetString()));
        Assert.Equal((string?)invoice["id"], state.GetProperty("actionRequired").GetProperty("invoiceId").GetString());

        var untouched = await SubscriptionAsync(bystander);
        Assert.Equal(("free", "none"), (untouched.GetProperty("plan").GetString(), untouched.GetProperty("status").GetString()));
        Assert.True(Absent(untouched, "actionRequired"));

        // Delivered late after all, the event is known as applied.
        using var late = await DeliverAsync(missed);
        Assert.True((await late.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("alreadyApplied").GetBoolean());
    }

    [Fact]
    public async Task An_organization_subscribes_for_its_seats_and_its_plan_limits_its_space_while_each_members_own_plan_limits_theirs()
    {
        var organization = OrganizationSpaceTests.NewOrganization();
        var admin = await OrganizationSpaceTests.MemberAsync(app, TestUsers.NewEmail("org-billing-admin"), organization, "admin");
        var member = await OrganizationSpaceTests.MemberAsync(app, TestUsers.NewEmail("org-billing-member"), organization, "member");

        // Every member reads the organization's plan; only billing:manage buys or manages it, and a refusal starts nothing at Stripe.
        var before = await member.GetFromJsonAsync<JsonElement>("billing/subscription?space=org");
        Assert.Equal(("free", "org"), (before.GetProperty("plan").GetString(), before.GetProperty("space").GetString()));
        var sessions = app.Stripe.CheckoutSessions.Count;
        await ProblemAssert.IsProblemAsync(await member.PostAsJsonAsync("billing/checkout?space=org", new { plan = "pro", seats = 5 }), HttpStatusCode.Forbidden, "forbidden");
        await ProblemAssert.IsProblemAsync(await member.PostAsJsonAsync("billing/portal?space=org", new { }), HttpStatusCode.Forbidden, "forbidden");
        Assert.Equal("seats", (await ProblemAssert.IsProblemAsync(await admin.PostAsJsonAsync("billing/checkout", new { plan = "pro", seats = 3 }), HttpStatusCode.BadRequest, "validation"))
            .GetProperty("errors").EnumerateObject().Single().Name);
        await ProblemAssert.IsProblemAsync(await admin.PostAsJsonAsync("billing/checkout?space=org", new { plan = "pro", seats = 0 }), HttpStatusCode.BadRequest, "validation");
        Assert.Equal(sessions, app.Stripe.CheckoutSessions.Count);

        using (var checkout = await admin.PostAsJsonAsync("billing/checkout?space=org", new { plan = "pro", seats = 5 }))
            Assert.Equal(HttpStatusCode.OK, checkout.StatusCode);
        var session = app.Stripe.CheckoutSessions.Last(s => s.GetValueOrDefault("client_reference_id") == organization);
        Assert.Equal(("5", organization), (session["line_items[0][quantity]"], session["subscription_data[metadata][userId]"]));

        var (subscriptionId, customer) = ("sub_" + Guid.NewGuid().ToString("N")[..14], "cus_" + Guid.NewGuid().ToString("N")[..14]);
        using (var delivered = await DeliverAsync(FakeStripe.Event("customer.subscription.created", app.Stripe.SetSubscription(subscriptionId, customer, "active", organization, quantity: 5))))
            Assert.Equal(HttpStatusCode.OK, delivered.StatusCode);
        var state = await member.GetFromJsonAsync<JsonElement>("billing/subscription?space=org");
        Assert.Equal(("pro", 5), (state.GetProperty("plan").GetString(), state.GetProperty("seats").GetInt32()));
        foreach (var who in new[] { admin, member })
            Assert.Equal(("free", "personal"), ((await SubscriptionAsync(who)).GetProperty("plan").GetString(), (await SubscriptionAsync(who)).GetProperty("space").GetString()));
        Assert.Equal("free", (await admin.GetFromJsonAsync<JsonElement>("me")).GetProperty("plan").GetString());

        // The organization's space holds more than a free plan allows; the admin's own space still stops at the free plan's.
        async Task<HttpStatusCode> UploadAsync(string? space, int i)
        {
            using var response = await OrganizationSpaceTests.UploadAsync(admin, $"file {i}", $"f{i}.bin", space, "application/octet-stream");
            return response.StatusCode;
        }
        for (var i = 0; i <= DevHostFixture.FreeFiles; i++) Assert.Equal(HttpStatusCode.Created, await UploadAsync("org", i));
        for (var i = 0; i < DevHostFixture.FreeFiles; i++) Assert.Equal(HttpStatusCode.Created, await UploadAsync(null, i));
        Assert.Equal(HttpStatusCode.PaymentRequired, await UploadAsync(null, DevHostFixture.FreeFiles));

        using var portal = await admin.PostAsJsonAsync("billing/portal?space=org", new { });
        Assert.EndsWith(customer, (await portal.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("url").GetString());
    }
}
