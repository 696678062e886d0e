using System.Text.Json;
using SmartApp.Domain.Common.Errors;
using SmartApp.Domain.Data;
using SmartApp.Domain.Data.Adapters.Cosmos;

namespace SmartApp.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class DataQueryTests
{
    private static JsonElement V(object value) => JsonSerializer.SerializeToElement(value);

    [Fact]
    public void Values_become_parameters_and_names_become_bracketed_validated_paths()
    {
        var query = new TableQuery([new Filter("address.zip", FilterOp.Eq, V("' OR 1=1 --")), new Filter("tags", FilterOp.Contains, V("tea"))], [new Ordering("age", true)], null, 10, null);
        var definition = CosmosRecordStore.Translate("people", QueryGrammar.Validate(query));
        Assert.Equal(
            "SELECT * FROM c WHERE c.type = 'record' AND c.table = @table AND c.data[\"address\"][\"zip\"] = @p0 AND ((IS_STRING(c.data[\"tags\"]) AND CONTAINS(c.data[\"tags\"], @p1)) OR (IS_ARRAY(c.data[\"tags\"]) AND ARRAY_CONTAINS(c.data[\"tags\"], @p1))) ORDER BY c.data[\"age\"] DESC",
            definition.QueryText);
        Assert.Equal(["@table", "@p0", "@p1"], definition.GetQueryParameters().Select(p => p.Name));
    }

    [Theory]
    [InlineData("a\"]) OR (1=1")]
    [InlineData("a b")]
    [InlineData("a.")]
    [InlineData("")]
    public void A_field_outside_the_grammar_is_a_400_naming_the_condition(string field) =>
        Assert.Equal("where[0].field", Assert.Throws<ValidationFailedException>(() =>
            QueryGrammar.Validate(new TableQuery([new Filter(field, FilterOp.Eq, V(1))], [], null, 10, null))).Errors.Keys.Single());

    [Fact]
    public void Operators_check_the_kind_of_value_they_take()
    {
        Assert.Throws<ValidationFailedException>(() => QueryGrammar.Validate(new TableQuery([new Filter("a", FilterOp.In, V("x"))], [], null, 10, null)));
        Assert.Throws<ValidationFailedException>(() => QueryGrammar.Validate(new TableQuery([new Filter("a", FilterOp.Exists, V("yes"))], [], null, 10, null)));
        Assert.Throws<ValidationFailedException>(() => QueryGrammar.Validate(new TableQuery([new Filter("a", FilterOp.Eq, V(new { x = 1 }))], [], null, 10, null)));
        Assert.Throws<ValidationFailedException>(() => QueryGrammar.Validate(new TableQuery([], [new Ordering("a", false), new Ordering("b", false)], null, 10, null)));
    }
}
