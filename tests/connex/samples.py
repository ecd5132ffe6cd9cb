"""The spec's sample bodies, verbatim except where the spec's own text is not JSON (noted)."""

PRODUCTS_QUERY = """{
  "pageNumber": 1,
  "pageSize": 10,
  "searchText": "",
  "orderBy": "",
  "direction": "",
  "isManual": false,
  "onlyFetchUnknownSkusProducts": false,
  "productType": null,
  "userConnectionId": 0
}"""

PRODUCTS_RESPONSE = """{
  "lstProducts": [
    {
      "name": "TEST_INV_PRODUCT",
      "description": "",
      "timeUntilRestock": 0,
      "daystoReceive": 0,
      "sku": "INVENTORY_PRODUCT",
      "asin": "",
      "productType": 0,
      "productTyp": null,
      "unitCost": 98.00,
      "assetValue": 0.00,
      "salesPrice": 0.00,
      "reorderPoint": 0,
      "maxQuantity": 0,
      "quantityOnOrder": 0.00,
      "quantityOnSalesOrder": 0.00,
      "quantity": 0.00,
      "id": 133007,
      "averageCost": 98.00,
      "quantityOnHand": 12.00,
      "unit": null,
      "isManual": false,
      "channelName": "QuickBooks Online",
      "userConnection": {
        "deleted": false,
        "connectionType": 4,
        "connectionTypeId": 0,
        "solutionWebsite": "http://www.quickbooksonline.com",
        "connectionSettings": [],
        "scheduledTasks": [],
        "reportingOrders": [],
        "reports": [],
        "inventoryDetailLogs": [],
        "notificationSettings": [],
        "id": 951,
        "reportingUserId": "f444a9f4-1fc4-42cd-9361-25c36f4ff418",
        "reportingUser": null,
        "dateCreated": "2024-08-28T07:23:43.3903372",
        "dateModified": "2024-08-28T07:23:43.3903401"
      },
      "createdAt": "2024-08-28T07:24:57.6521682",
      "updatedAt": "2024-08-28T08:03:17.6889286",
      "hasUnknownSku": false,
      "internalNote": "",
      "imageUrl": "",
      "imageUrls": [],
      "objCategoryIds": {
        "categoryId": 0,
        "categoryName": "",
        "subCategoryIds": null
      },
      "objUserConnectionViewModel": {
        "userConnectionId": 951,
        "userConnectionName": "QuickBooks Online"
      }
    },
    {
      "name": "IPHONE _ WHITE COVER",
      "description": "",
      "timeUntilRestock": 0,
      "daystoReceive": 0,
      "sku": "IPHONE_white112",
      "asin": "",
      "productType": 0,
      "productTyp": null,
      "unitCost": 0.00,
      "assetValue": 0.00,
      "salesPrice": 100.00,
      "reorderPoint": 0,
      "maxQuantity": 0,
      "quantityOnOrder": 0.00,
      "quantityOnSalesOrder": 0.00,
      "quantity": 0.00,
      "id": 133006,
      "averageCost": 0.00,
      "quantityOnHand": 0.00,
      "unit": null,
      "isManual": false,
      "channelName": "QuickBooks Online",
      "userConnection": {
        "deleted": false,
        "connectionType": 4,
        "connectionTypeId": 0,
        "solutionWebsite": "http://www.quickbooksonline.com",
        "connectionSettings": [],
        "scheduledTasks": [],
        "reportingOrders": [],
        "reports": [],
        "inventoryDetailLogs": [],
        "notificationSettings": [],
        "id": 951,
        "reportingUserId": "f444a9f4-1fc4-42cd-9361-25c36f4ff418",
        "reportingUser": null,
        "dateCreated": "2024-08-28T07:23:43.3903372",
        "dateModified": "2024-08-28T07:23:43.3903401"
      },
      "createdAt": "2024-08-28T07:24:57.6521648",
      "updatedAt": "2024-08-28T08:03:05.6448618",
      "hasUnknownSku": false,
      "internalNote": "",
      "imageUrl": "",
      "imageUrls": [],
      "objCategoryIds": {
        "categoryId": 0,
        "categoryName": "",
        "subCategoryIds": null
      },
      "objUserConnectionViewModel": {
        "userConnectionId": 951,
        "userConnectionName": "QuickBooks Online"
      }
    }
  ],
  "unknownSkusCount": 0,
  "objMetaData": {
    "totalRows": 9,
    "totalNumberOfPages": 1
  }
}"""

ORDERS_QUERY = """{
  "beginDate": "05/05/2024",
  "endDate": "09/05/2024",
  "pageNumber": 1,
  "pageSize": 10,
  "searchText": "",
  "orderBy": "orderDate",
  "direction": "desc",
  "userConnectionId": 0
}"""

ORDERS_RESPONSE = """{
  "lstAllOrders": [
    {
      "id": 0,
      "orderNumber": "JMA1189",
      "orderDate": "2024-07-29T08:24:27",
      "channel": "Shopify",
      "totalProductSales": 920.16,
      "userConnectionId": 944,
      "chipColor": "",
      "lstOrderItemDetails": [
        {
          "productName": "JMA Blue T Shirt - S",
          "sku": "JMA Blue T Shirt-1",
          "orderedProductQuantity": 1,
          "totalSoldPrice": 2,
          "unitPrice": 2,
          "imagesUrl": [],
          "orderNumberSummary": [
            "JMA1189"
          ]
        },
        {
          "productName": "JMA Blue T Shirt - M",
          "sku": "JMA Blue T Shirt-2",
          "orderedProductQuantity": 1,
          "totalSoldPrice": 2,
          "unitPrice": 2,
          "imagesUrl": [],
          "orderNumberSummary": [
            "JMA1189"
          ]
        }
      ]
    }
  ],
  "objMetaData": {
    "totalRows": 1,
    "totalNumberOfPages": 1
  }
}"""

# The spec writes `"userConnectionId": 1 (FROM USER CONNECTION ID ACCOUNT)`; the note is dropped.
ADD_PRODUCT_REQUEST = """{
"id": 0,
"reportingUserId": "0e56eeb0-9c1d-42b3-8a61-4376516718d2",
"name": "Test Custom",
"imageUrls": [
  "string"
],
"sku": "TestCustom",
"description": "string",
"asin": "string",
"unitValue": 0,
"unitCost": 0,
"salesPrice": 0,
"productType": 0,
"reorderPoint": 0,
"maxQuantity": 0,
"timeUntilRestock": 0,
"daystoReceive": 0,
"isActive": true,
"assetValue": 0,
"averageCost": 0,
"quantityOnOrder": 0,
"quantityOnSalesOrder": 0,
"quantityOnHand": 0,
"quantity": 0,
"isManual": true,
"unit": 0,
"userConnectionId": 1,
"internalNote": "string",
"objProductCategories": {
  "categoryId": 0,
  "subCategoryIds": [
    {
      "categoryId": 0
    }
  ]
}
}"""

ADD_PRODUCT_RESPONSE = "Added Successfully"

# The spec's createorders sample. It lacks the required properties of the spec's own
# table (ReportingUserId, OrderNumber ...); tests add those.
CREATE_ORDERS_REQUEST = """[
{
  "billingAddress": {
    "address1": "123 Main St.",
    "address2": "STE 100",
    "city": "Watertown",
    "company": "Connex",
    "countryName": "United States",
    "email": "example@example.com",
    "firstName": "Joe",
    "fullName": "Joe Example",
    "lastName": "Example",
    "phoneNumber": "7813300737",
    "postalCode": "02472",
    "regionName": "MA",
    "twoLetterIsoCode": "US"
},
"shippingAddress": {
    "address1": "123 Main St.",
    "address2": "STE 100",
    "city": "Watertown",
    "company": "Connex",
    "countryName": "United States",
    "email": "example@example.com",
    "firstName": "Joe",
    "fullName": "Joe Example",
    "lastName": "Example",
    "phoneNumber": "7813300737",
    "postalCode": "02472",
    "regionName": "MA",
    "twoLetterIsoCode": "US"
},
"creationDate": "2024-09-06T13:33:28.283Z",
"creditCardName": "Credit Card",
"discountExclTax": 3,
"discountInclTax": 3,
"ShippingMethod": "UPS",
"ShippingExclTax": "2",
"ShippingInclTax": "2",
"TotalExclTax": 4,
"orderType": "0",
"orderDetails": [
    {
        "name": "My Product",
        "priceExclTax": 2,
        "priceInclTax": 3,
        "quantity": 2,
        "sku": "Product123",
        "options": [
            {
                "name": "Color",
                "value": "Red",
                "sku": "Product1234",
                "quantity": 2
            }
        ],
        "jmaCustomFields": [
            {
                "name": "sadsa",
                "value": "",
                "orderNumber": "",
                "mapped": true
            }
        ],
        "customFields": [
            {
                "name": "sadsa",
                "value": "",
                "orderNumber": "",
                "mapped": true
    }
  ],

  "orderNumbersForItemSummary": [
  ],

  "vendor": "Sample Vendor",
  "categories": [
    "My product categories"
  ],
  "hasKnownSKU": true,
  "fees": {
    "additionalProp1": 2,
    "additionalProp2": 2,
    "additionalProp3": 2
  }
}
]
}
]"""

CREATE_ORDERS_RESPONSE = """{
  "Records inserted Successfully"
}"""
